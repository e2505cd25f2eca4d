import pytest

from support.backends import backend  # noqa: F401  (the sqlite/postgres parametrized fixture)
from support.ghl_mock import Recorder
from support.postgres import pg_empty_url, pg_server, pg_template, pg_url  # noqa: F401


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
