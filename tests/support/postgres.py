"""PostgreSQL for the tests: found, or started, or skipped with the reason.

1. ``GHL_SMS_TEST_DATABASE_URL`` (CI and the development machines: the server on
   127.0.0.1:5432); its database must let us CREATE DATABASE.
2. Else a throwaway server when ``pg_ctl`` is installed (not as root: the server refuses
   to run as root), started by pytest-postgresql's executor in a temporary folder on a
   free loopback port, stopped at the end.
3. Else every PostgreSQL test skips, saying why; with ``GHL_SMS_REQUIRE_PG=1`` (CI) that
   is a failure instead.

Each test gets a fresh database, copied from a template our migrations were applied to
(``CREATE DATABASE ... TEMPLATE``), and dropped after it.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

URL_VARIABLE = "GHL_SMS_TEST_DATABASE_URL"
REQUIRE_VARIABLE = "GHL_SMS_REQUIRE_PG"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"PostgreSQL is required here ({REQUIRE_VARIABLE}=1): {reason}")
    pytest.skip(f"no PostgreSQL for the tests: {reason}")


def _pg_ctl() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian's layout
    return candidates[-1] if candidates else None


@contextmanager
def _throwaway(pg_ctl: str) -> Iterator[str]:
    """A server of our own in a temporary folder, run by pytest-postgresql's executor
    (initdb, start, wait, stop); yields its admin URL."""
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    folder = Path(tempfile.mkdtemp(prefix="ghl-sms-pg-"))
    executor = PostgreSQLExecutor(
        executable=pg_ctl,
        host="127.0.0.1",
        port=get_port(None),
        datadir=str(folder / "data"),
        unixsocketdir=str(folder),
        logfile=str(folder / "log"),
        startparams="-w",
        dbname="postgres",
        # Speed over durability: the data is thrown away.
        postgres_options="-c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
    )
    executor.start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{executor.port}/postgres"
    finally:
        executor.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def _with_database(url: str, name: str) -> str:
    """The same server's URL for another database (a postgresql:// URL either way)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"{URL_VARIABLE} must be a postgresql:// URL")
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """An admin URL of a PostgreSQL server (skips, or fails under GHL_SMS_REQUIRE_PG=1)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[test]')")
    with ExitStack() as stack:
        url = os.environ.get(URL_VARIABLE)
        if not url:
            pg_ctl = _pg_ctl()
            if pg_ctl is None:
                _unavailable(f"{URL_VARIABLE} is not set and pg_ctl is not installed")
            assert pg_ctl is not None
            if os.geteuid() == 0:
                _unavailable(
                    f"{URL_VARIABLE} is not set and PostgreSQL will not run as root: run the "
                    "tests as another user, or set it to a server's URL"
                )
            try:
                url = stack.enter_context(_throwaway(pg_ctl))
            except Exception as exc:
                _unavailable(f"could not start a throwaway server with {pg_ctl} ({exc})")
        assert url is not None
        try:
            _admin(url).close()
        except Exception as exc:
            _unavailable(f"cannot connect to {URL_VARIABLE} ({str(exc).strip()[:200]})")
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """A database with our schema, to copy for each test."""
    from ghl_sms.ops.storage.postgres import connect
    from ghl_sms.ops.storage.schema import upgrade

    name = f"ghl_sms_tpl_{uuid.uuid4().hex[:8]}"
    with _admin(pg_server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = connect(_with_database(pg_server, name))
    try:
        upgrade(db)
    finally:
        db.close()
    try:
        yield name
    finally:
        with _admin(pg_server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh(pg_server: str, template: str | None) -> Iterator[str]:
    name = f"ghl_sms_t_{uuid.uuid4().hex[:10]}"
    with _admin(pg_server) as admin:
        source = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{source}')
    try:
        yield _with_database(pg_server, name)
    finally:
        with _admin(pg_server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """A fresh database of its own for this test, at the current schema."""
    yield from _fresh(pg_server, pg_template)


@pytest.fixture
def pg_empty_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database (no schema): for the upgrade tests."""
    yield from _fresh(pg_server, None)
