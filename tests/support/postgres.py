"""PostgreSQL for the tests: found, or started, or skipped with the reason.

1. ``GHL_SMS_TEST_DATABASE_URL`` (CI and the development machines: the server on
   127.0.0.1:5432); its database must let us CREATE DATABASE.
2. Else a throwaway server when ``initdb``/``pg_ctl`` are installed: initialised in a
   temporary folder (as the ``postgres`` user when we are root: the server refuses to
   run as root), on a free loopback port, stopped at the end.
3. Else every PostgreSQL test skips, saying why; with ``GHL_SMS_REQUIRE_PG=1`` (CI) that
   is a failure instead.

Each test gets a fresh database, copied from a template our migrations were applied to
(``CREATE DATABASE ... TEMPLATE``), and dropped after it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
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


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Throwaway:
    """A server of our own in a temporary folder."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ghl-sms-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.pg_ctl = pg_ctl
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser is missing")
            self.prefix = [runuser, "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")
            os.chmod(self.dir, 0o700)
        subprocess.run(
            [*self.prefix, initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*self.prefix, pg_ctl, "-D", str(self.data), "-o", options, "-w", "-t", "60",
             "-l", str(self.dir / "log"), "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


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
    url = os.environ.get(URL_VARIABLE)
    server: _Throwaway | None = None
    if not url:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            _unavailable(f"{URL_VARIABLE} is not set and initdb/pg_ctl are not installed")
        assert initdb is not None and pg_ctl is not None
        try:
            server = _Throwaway(initdb, pg_ctl)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            _unavailable(f"could not start a throwaway server ({exc} {detail[-300:]!r})")
        assert server is not None
        url = server.url
    try:
        _admin(url).close()
    except Exception as exc:
        if server is not None:
            server.stop()
        _unavailable(f"cannot connect to {URL_VARIABLE} ({str(exc).strip()[:200]})")
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


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
