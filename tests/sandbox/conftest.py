from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sb(clock: FakeClock) -> Iterator[Sandbox]:
    sandbox = Sandbox(clock=clock)
    yield sandbox
    sandbox.close()


@pytest.fixture
async def http(sb: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    async with sb.client() as client:
        yield client
