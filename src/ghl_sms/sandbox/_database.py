"""Opening the sandbox's SQLite file: one sandbox owns it, another program's database
is never adopted, and the schema is migrated on open."""

from __future__ import annotations

import sqlite3

from ghl_sms.sandbox.migrations import migrate

__all__ = ["ForeignDatabaseError", "SandboxInUseError", "connect"]


def connect(path: str) -> sqlite3.Connection:
    """Open (and migrate) the sandbox database; ``":memory:"`` for a throwaway one."""
    # check_same_thread=False: TestClient and schemathesis run the app on a portal thread;
    # SandboxStore serialises access with its own lock.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.2)
    try:
        _refuse_a_foreign_database(conn, path)  # before any PRAGMA rewrites its header
        if path != ":memory:":
            # One sandbox owns the file (its caches assume so): exclusive locking makes a
            # second one fail fast instead of corrupting ids, and spares WAL's shared-memory
            # locks. synchronous=OFF: no fsync, ever. A crash of the sandbox loses nothing;
            # a power cut may break the file, which is disposable (delete it to start over).
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise SandboxInUseError(
                f"{path} is in use by another sandbox (is `ghl-sms sandbox` running on it?); "
                "stop that one or use another database file"
            ) from exc
        raise
    return conn


class ForeignDatabaseError(sqlite3.DatabaseError):
    """The file is an SQLite database of some other program: never adopt or change it."""


def _refuse_a_foreign_database(conn: sqlite3.Connection, path: str) -> None:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and "_migrations" not in tables:
        raise ForeignDatabaseError(f"{path} holds another program's tables, not a sandbox's")


class SandboxInUseError(RuntimeError):
    """Another process holds the sandbox database."""
