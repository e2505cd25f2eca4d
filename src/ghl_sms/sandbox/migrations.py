"""The sandbox's SQLite schema, as ordered migrations.

Each ``m00N_*`` function runs once, in a transaction together with its row in
``_migrations``; ``migrate()`` is idempotent. Add new steps at the end, never edit one
that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS", "migrate"]


def _run(conn: sqlite3.Connection, script: str) -> None:
    # Statement by statement: executescript() would commit the surrounding transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_initial(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE locations (
            id TEXT PRIMARY KEY,
            data TEXT NOT NULL
        );
        CREATE TABLE tokens (
            token TEXT PRIMARY KEY,
            location_id TEXT NOT NULL REFERENCES locations(id),
            scopes TEXT NOT NULL
        );
        CREATE TABLE numbers (
            location_id TEXT NOT NULL REFERENCES locations(id),
            phone TEXT NOT NULL,
            data TEXT NOT NULL,
            sms INTEGER NOT NULL,
            mms INTEGER NOT NULL,
            a2p_registered INTEGER NOT NULL,
            is_default INTEGER NOT NULL,
            PRIMARY KEY (location_id, phone)
        );
        CREATE TABLE contacts (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            location_id TEXT NOT NULL,
            phone TEXT,
            email TEXT,
            data TEXT NOT NULL
        );
        CREATE INDEX contacts_by_phone ON contacts(location_id, phone);
        CREATE INDEX contacts_by_email ON contacts(location_id, email);
        CREATE TABLE conversations (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            location_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            unread_count INTEGER NOT NULL DEFAULT 0,
            inbox INTEGER NOT NULL DEFAULT 1,
            starred INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0,
            last_message_body TEXT,
            last_message_type TEXT,
            last_message_direction TEXT,
            last_message_date REAL,
            date_added REAL NOT NULL,
            date_updated REAL NOT NULL
        );
        CREATE UNIQUE INDEX conversations_one_per_contact
            ON conversations(location_id, contact_id) WHERE deleted = 0;
        CREATE TABLE messages (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            location_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            direction TEXT NOT NULL,
            body TEXT NOT NULL,
            attachments TEXT NOT NULL,
            status TEXT NOT NULL,
            error_code TEXT,
            planned_status TEXT,
            planned_code TEXT,
            from_number TEXT,
            to_number TEXT,
            source TEXT,
            date_added REAL NOT NULL,
            scheduled_at REAL,
            next_at REAL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
        CREATE INDEX messages_due ON messages(next_at) WHERE next_at IS NOT NULL;
        CREATE TABLE media (
            id TEXT PRIMARY KEY,
            location_id TEXT NOT NULL,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            data BLOB NOT NULL
        );
        """,
    )


def m002_agency_oauth(conn: sqlite3.Connection) -> None:
    """Agencies (companies), a marketplace app installed on their locations, and the
    OAuth codes and tokens it hands out (ghl-api.md §1.1)."""
    _run(
        conn,
        """
        CREATE TABLE companies (
            id TEXT PRIMARY KEY,
            data TEXT NOT NULL
        );
        CREATE TABLE oauth_apps (
            client_id TEXT PRIMARY KEY,
            client_secret TEXT NOT NULL,
            app_id TEXT NOT NULL UNIQUE,
            version_id TEXT NOT NULL,
            company_id TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE TABLE app_installs (
            app_id TEXT NOT NULL,
            location_id TEXT NOT NULL,
            company_id TEXT NOT NULL,
            installed_at REAL NOT NULL,
            PRIMARY KEY (app_id, location_id)
        );
        CREATE TABLE oauth_codes (
            code TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            company_id TEXT NOT NULL,
            location_id TEXT,
            redirect_uri TEXT NOT NULL,
            scopes TEXT NOT NULL,
            expires_at REAL NOT NULL,
            used INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE oauth_tokens (
            token TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            client_id TEXT NOT NULL,
            user_type TEXT NOT NULL,
            company_id TEXT NOT NULL,
            location_id TEXT,
            scopes TEXT NOT NULL,
            expires_at REAL NOT NULL,
            used INTEGER NOT NULL DEFAULT 0
        );
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial, m002_agency_oauth]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the pending migrations in order; returns the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for step in MIGRATIONS:
        if step.__name__ in done:
            continue
        conn.execute("BEGIN")
        try:
            step(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))",
                (step.__name__,),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(step.__name__)
    return applied
