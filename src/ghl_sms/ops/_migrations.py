"""Ordered schema migrations for the local ledger (SQLite).

Each ``m00N_name`` runs once, inside a transaction with its bookkeeping row, so a
half-applied migration never sticks. ``migrate()`` is idempotent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS", "migrate"]

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_sends_and_opt_outs(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE sends (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            key_origin TEXT NOT NULL,          -- caller | derived
            location_id TEXT NOT NULL,
            contact_id TEXT,
            to_number TEXT,
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            attachments TEXT NOT NULL DEFAULT '[]',
            from_number TEXT,
            scheduled_at REAL,
            state TEXT NOT NULL,               -- pending | sent | failed | unknown | cancelled
            message_id TEXT,
            conversation_id TEXT,
            status TEXT,                       -- GHL's delivery status
            error_code TEXT,
            error_message TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_until REAL,                  -- a worker is sending it until then
            campaign_id TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX sends_recent ON sends (location_id, contact_id, text_hash)")
    db.execute("CREATE INDEX sends_message ON sends (message_id)")
    db.execute("CREATE INDEX sends_open ON sends (location_id, state)")
    db.execute(
        """
        CREATE TABLE opt_outs (
            id INTEGER PRIMARY KEY,
            location_id TEXT NOT NULL,
            phone TEXT,
            contact_id TEXT,
            source TEXT NOT NULL,              -- keyword | webhook_dnd | carrier | manual
            detail TEXT,
            created_at REAL NOT NULL,
            lifted_at REAL
        )
        """
    )
    db.execute("CREATE INDEX opt_outs_phone ON opt_outs (location_id, phone)")
    db.execute("CREATE INDEX opt_outs_contact ON opt_outs (location_id, contact_id)")


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have applied it while we waited for the lock.
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                db.execute("COMMIT")
                continue
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", (name,)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
