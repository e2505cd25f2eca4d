"""Ordered schema migrations for the local ledger (SQLite; PostgreSQL's are in
``postgres_schema``).

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


@migration
def m002_webhook_events(db: sqlite3.Connection) -> None:
    """What the webhook receiver stores (``ghl_sms.ops.events.EventLog``)."""
    db.execute(
        """
        CREATE TABLE webhook_seen (
            dedupe_key TEXT PRIMARY KEY,       -- webhookId, or sha256 of an id-less body
            forget_at REAL NOT NULL            -- past the replay window: safe to forget
        )
        """
    )
    db.execute("CREATE INDEX webhook_seen_forget ON webhook_seen (forget_at)")
    db.execute(
        """
        CREATE TABLE webhook_inbox (
            id INTEGER PRIMARY KEY,
            webhook_id TEXT,
            event_type TEXT NOT NULL,
            location_id TEXT,
            scheme TEXT NOT NULL,              -- ed25519 | rsa
            event_at REAL NOT NULL,            -- the envelope's timestamp
            body BLOB NOT NULL,                -- the verified raw bytes
            received_at REAL NOT NULL,
            lease_until REAL NOT NULL,         -- a receiver is processing it until then
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )
        """
    )
    db.execute("CREATE INDEX webhook_inbox_lease ON webhook_inbox (lease_until)")
    db.execute(
        """
        CREATE TABLE inbound_messages (
            id INTEGER PRIMARY KEY,
            message_id TEXT UNIQUE,
            webhook_id TEXT,
            location_id TEXT NOT NULL,
            contact_id TEXT,
            conversation_id TEXT,
            from_number TEXT,
            to_number TEXT,
            message_type TEXT,                 -- SMS, Email, CALL, ... as the webhook says
            body TEXT,
            attachments TEXT NOT NULL DEFAULT '[]',
            date_added REAL,
            keyword TEXT,                      -- opt_out | opt_in | help
            received_at REAL NOT NULL
        )
        """
    )
    db.execute(
        "CREATE INDEX inbound_contact ON inbound_messages (location_id, contact_id, date_added)"
    )
    db.execute("CREATE INDEX inbound_conversation ON inbound_messages (conversation_id)")
    db.execute(
        """
        CREATE TABLE message_status_events (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL,
            location_id TEXT,
            status TEXT NOT NULL,
            error_code TEXT,
            error_message TEXT,
            at REAL NOT NULL,                  -- when GHL reported it
            source TEXT NOT NULL,              -- webhook | poll
            webhook_id TEXT UNIQUE,
            received_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX status_events_message ON message_status_events (message_id, at)")
    db.execute(
        """
        CREATE TABLE contact_dnd_events (
            id INTEGER PRIMARY KEY,
            location_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            phone TEXT,
            dnd INTEGER,                       -- the global flag; NULL when not sent
            sms_status TEXT,                   -- active | inactive | permanent | NULL
            dnd_settings TEXT,                 -- JSON, as sent
            blocks_sms INTEGER NOT NULL,
            at REAL NOT NULL,
            webhook_id TEXT UNIQUE,
            received_at REAL NOT NULL
        )
        """
    )
    db.execute(
        "CREATE INDEX dnd_events_contact ON contact_dnd_events (location_id, contact_id, at)"
    )
    db.execute(
        """
        CREATE TABLE conversation_unread (
            conversation_id TEXT PRIMARY KEY,
            location_id TEXT NOT NULL,
            contact_id TEXT,
            unread_count INTEGER NOT NULL,
            inbox INTEGER,
            starred INTEGER,
            deleted INTEGER,
            at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """
    )


@migration
def m003_bulk_campaigns(db: sqlite3.Connection) -> None:
    """Bulk campaigns (``ghl_sms.ops.bulk``): campaigns, recipients, budgets, leases."""
    db.execute(
        """
        CREATE TABLE bulk_campaigns (
            id TEXT PRIMARY KEY,
            location_id TEXT NOT NULL,
            name TEXT NOT NULL,
            template TEXT NOT NULL,
            attachments TEXT NOT NULL DEFAULT '[]',
            from_number TEXT,
            transactional INTEGER NOT NULL DEFAULT 0,
            quiet_hours TEXT NOT NULL,         -- defer | skip
            caps TEXT NOT NULL DEFAULT '{}',   -- JSON: per_minute, per_day, number_*, day_timezone
            max_attempts INTEGER NOT NULL,
            source TEXT NOT NULL,              -- csv:file.csv | tag:vip | contacts
            state TEXT NOT NULL,               -- importing | draft | running | paused | cancelled
                                               -- | completed
            state_reason TEXT,                 -- why it paused itself
            waiting_reason TEXT,               -- daily_cap | ghl_daily_limit | quiet_hours | retry
            waiting_until REAL,
            total INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX bulk_campaigns_location ON bulk_campaigns (location_id, state)")
    db.execute(
        """
        CREATE TABLE bulk_recipients (
            id INTEGER PRIMARY KEY,
            campaign_id TEXT NOT NULL,
            seq INTEGER NOT NULL,              -- position in the source, from 1
            contact_id TEXT,
            phone TEXT,                        -- E.164 when valid
            fields TEXT NOT NULL DEFAULT '{}', -- JSON merge fields from the source
            state TEXT NOT NULL,               -- pending | sending | sent | skipped | failed
                                               -- | deferred
            reason_code TEXT,
            reason TEXT,
            not_before REAL NOT NULL DEFAULT 0,
            idempotency_key TEXT NOT NULL,     -- the ledger key: bulk:{campaign}:{seq}
            message_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX bulk_recipients_seq ON bulk_recipients (campaign_id, seq)")
    db.execute(
        "CREATE INDEX bulk_recipients_due ON bulk_recipients (campaign_id, not_before) "
        "WHERE state IN ('pending', 'deferred')"
    )
    db.execute(
        "CREATE INDEX bulk_recipients_state ON bulk_recipients (campaign_id, state, updated_at)"
    )
    db.execute(
        "CREATE INDEX bulk_recipients_phone ON bulk_recipients (campaign_id, phone) "
        "WHERE phone IS NOT NULL"
    )
    db.execute(
        "CREATE INDEX bulk_recipients_contact ON bulk_recipients (campaign_id, contact_id) "
        "WHERE contact_id IS NOT NULL"
    )
    db.execute("CREATE TABLE bulk_budget_claims (key TEXT NOT NULL, at REAL NOT NULL)")
    db.execute("CREATE INDEX bulk_budget_claims_key ON bulk_budget_claims (key, at)")
    db.execute(
        """
        CREATE TABLE bulk_budget_days (
            key TEXT PRIMARY KEY,
            day_start REAL NOT NULL,           -- midnight that started the counted day
            used INTEGER NOT NULL,
            blocked_until REAL                 -- GHL said: nothing more until then
        )
        """
    )
    db.execute(
        """
        CREATE TABLE bulk_leases (
            name TEXT PRIMARY KEY,             -- a location id: one pump at a time
            owner TEXT NOT NULL,
            host TEXT,
            pid INTEGER,
            expires_at REAL NOT NULL,
            acquired_at REAL NOT NULL
        )
        """
    )


@migration
def m004_send_template(db: sqlite3.Connection) -> None:
    """The text as the caller gave it, before merge fields (NULL: the same as ``text``):
    what a reused idempotency key is compared with."""
    db.execute("ALTER TABLE sends ADD COLUMN template TEXT")


@migration
def m005_history_and_opt_out_audit(db: sqlite3.Connection) -> None:
    """The contact's name at send time (for ``ops.history``), and who added or removed an
    opt-out by hand, when and why (``ops.optouts``)."""
    db.execute("ALTER TABLE sends ADD COLUMN contact_name TEXT")
    db.execute("CREATE INDEX sends_history ON sends (location_id, created_at)")
    db.execute(
        """
        CREATE TABLE opt_out_audit (
            id INTEGER PRIMARY KEY,
            location_id TEXT NOT NULL,
            action TEXT NOT NULL,              -- add | remove
            phone TEXT,
            contact_id TEXT,
            reason TEXT,
            actor TEXT,                        -- who ran it (the OS user, or a tool's name)
            sources TEXT NOT NULL DEFAULT '[]', -- JSON: the sources lifted by a remove
            sync TEXT,                         -- GHL's SMS DND: set | cleared | no_contact
                                               -- | failed; NULL when not asked to sync
            at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX opt_out_audit_phone ON opt_out_audit (location_id, phone, at)")


@migration
def m006_bulk_claims_and_open_index(db: sqlite3.Connection) -> None:
    """Who each bulk recipient texts and at what estimated cost (``bulk.guards``: one text
    per person, the spend cap), and open recipients in list order (``claim_due``).

    Earlier versions created both when the bulk store opened, so a ledger may already
    have them: ``IF NOT EXISTS`` keeps this safe to apply there (same definitions).
    """
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS bulk_claims (
            recipient_id INTEGER PRIMARY KEY,  -- bulk_recipients.id
            campaign_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            contact_id TEXT,                   -- the GHL contact it texts
            phone TEXT,                        -- and its number, E.164
            cost REAL NOT NULL DEFAULT 0       -- estimated USD of the message
        )
        """
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS bulk_claims_contact ON bulk_claims (campaign_id, contact_id)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS bulk_claims_phone ON bulk_claims (campaign_id, phone)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS bulk_recipients_open_seq ON bulk_recipients (campaign_id, seq) "
        "WHERE state IN ('pending', 'deferred')"
    )


@migration
def m007_bulk_report(db: sqlite3.Connection) -> None:
    """What ``bulk report`` says of each recipient: who the row turned out to be (a CSV
    row given by number gets its contact, and the reverse) and their name, and attempts
    counted truthfully: ``attempts`` is now the send requests that may have reached GHL,
    while ``tries`` (the old ``attempts``) counts transient failures against the
    campaign's ``max_attempts``, lookups included."""
    db.execute("ALTER TABLE bulk_recipients RENAME COLUMN attempts TO tries")
    db.execute("ALTER TABLE bulk_recipients ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
    # Earlier rows: a send recorded in the ledger under the row's key went out at least once.
    db.execute(
        "UPDATE bulk_recipients SET attempts = 1 WHERE EXISTS (SELECT 1 FROM sends s "
        "WHERE s.idempotency_key = bulk_recipients.idempotency_key)"
    )
    db.execute("ALTER TABLE bulk_recipients ADD COLUMN resolved_contact_id TEXT")
    db.execute("ALTER TABLE bulk_recipients ADD COLUMN resolved_phone TEXT")
    db.execute("ALTER TABLE bulk_recipients ADD COLUMN contact_name TEXT")


@migration
def m008_lease_epochs(db: sqlite3.Connection) -> None:
    """A fencing epoch per lease: bumped by every acquire, so a pump that lost its lease
    (and doesn't know it yet) writes nothing under its stale epoch."""
    db.execute("ALTER TABLE bulk_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")


@migration
def m009_campaign_send_window(db: sqlite3.Connection) -> None:
    """A campaign's own daily hours in each recipient's local time (``"09:30-17:00"``;
    NULL: quiet hours only), read by every process that sends it."""
    db.execute("ALTER TABLE bulk_campaigns ADD COLUMN send_window TEXT")


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
