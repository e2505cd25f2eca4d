"""Schema versions on both backends: what ``ghl-sms db status`` shows and ``db upgrade`` does.

SQLite keeps migrating its own file when it is opened, as it always has (one user, one
file). PostgreSQL is shared: it is migrated only by ``upgrade`` (``ghl-sms db upgrade``),
and every other command refuses a database whose schema is not the one this version
expects (``check``), with what to run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.storage.sql import Connection, Dialect, dialect, write_transaction

__all__ = [
    "JOB_ENGINE_MODULE",
    "JobSchemaHook",
    "SchemaOutdated",
    "SchemaStatus",
    "check",
    "job_schema_hook",
    "migrations_for",
    "status",
    "upgrade",
]

_UPGRADE_LOCK = "ghl-sms:schema-upgrade"

JobSchemaHook = Callable[[str], Awaitable[None]]
"""Applies the job engine's own schema to the database at this URL (procrastinate's
``apply_schema_async``); run by ``ghl-sms db upgrade`` after ours."""

JOB_ENGINE_MODULE = "ghl_sms.ops.jobs"
"""Where the job engine lives once it exists: ``async def apply_job_schema(url: str)``
there is the hook (``job_schema_hook``)."""


def job_schema_hook() -> JobSchemaHook | None:
    """The job engine's schema step, or None while there is no job engine module."""
    import importlib

    try:
        module = importlib.import_module(JOB_ENGINE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == JOB_ENGINE_MODULE:
            return None
        raise  # the module exists but needs something missing: say so
    hook: JobSchemaHook = module.apply_job_schema
    return hook


class SchemaOutdated(LedgerUnusable):
    """The database's schema is older (or newer) than this version of ghl-sms expects."""


@dataclass(frozen=True)
class SchemaStatus:
    dialect: Dialect
    applied: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]
    """Migrations recorded in the database that this version doesn't know (a newer one)."""

    @property
    def version(self) -> int:
        return len(self.applied)

    @property
    def latest(self) -> int:
        return len(self.applied) + len(self.pending)

    @property
    def current(self) -> bool:
        return not self.pending and not self.unknown


def migrations_for(kind: Dialect) -> list[tuple[str, Callable[[Connection], None]]]:
    if kind == "postgres":
        from ghl_sms.ops.storage.postgres_schema import PG_MIGRATIONS

        return list(PG_MIGRATIONS)
    from ghl_sms.ops.storage.sqlite_schema import MIGRATIONS

    return [(name, fn) for name, fn in MIGRATIONS]  # type: ignore[misc]


def _recorded(db: Connection) -> list[str]:
    kind = dialect(db)
    if kind == "postgres":
        exists = db.execute("SELECT to_regclass('_migrations') IS NOT NULL").fetchone()[0]
    else:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone()
    if not exists:
        return []
    return [row[0] for row in db.execute("SELECT name FROM _migrations")]


def status(db: Connection) -> SchemaStatus:
    kind = dialect(db)
    known = [name for name, _ in migrations_for(kind)]
    recorded = set(_recorded(db))
    return SchemaStatus(
        dialect=kind,
        applied=tuple(n for n in known if n in recorded),
        pending=tuple(n for n in known if n not in recorded),
        unknown=tuple(sorted(recorded - set(known))),
    )


def check(db: Connection, where: str) -> None:
    """Refuse a database at another schema version than this ghl-sms expects."""
    found = status(db)
    if found.current:
        return
    if found.unknown:
        raise SchemaOutdated(
            f"The database {where} has a newer schema than this ghl-sms knows "
            f"({', '.join(found.unknown)}); upgrade ghl-sms on this machine."
        )
    state = (
        "has no ghl-sms tables yet"
        if not found.applied
        else (f"is at schema version {found.version}; this ghl-sms needs {found.latest}")
    )
    raise SchemaOutdated(
        f"The database {where} {state}. Run `ghl-sms db upgrade` (with the same "
        "--database-url / GHL_SMS_DATABASE_URL) first."
    )


def upgrade(db: Connection) -> list[str]:
    """Apply the pending migrations; return the names applied now."""
    kind = dialect(db)
    if kind == "sqlite":
        from ghl_sms.ops.storage.sqlite_schema import migrate

        assert isinstance(db, sqlite3.Connection)
        return migrate(db)
    with write_transaction(db, [_UPGRADE_LOCK]):
        db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
    applied = []
    for name, fn in migrations_for(kind):
        with write_transaction(db, [_UPGRADE_LOCK]):
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                continue  # another upgrade applied it while we waited
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, now()::text)", (name,)
            )
        applied.append(name)
    return applied
