"""The bulk tables come from the ledger's migrations, also on ledgers whose earlier
version created some of them on the fly."""

from __future__ import annotations

import sqlite3

from ghl_sms._clock import FakeClock
from ghl_sms.ops._migrations import MIGRATIONS, migrate
from ghl_sms.ops.bulk import SqliteCampaignStore
from ghl_sms.ops.bulk.guards import SqliteGuardStore

BULK_SCHEMA = (
    "bulk_claims",
    "bulk_claims_contact",
    "bulk_claims_phone",
    "bulk_recipients_open_seq",
)


def _schema(db: sqlite3.Connection) -> dict[str, str]:
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE 'bulk_%'")
    return {str(name): " ".join(str(sql).split()) for name, sql in rows}


def _names(db: sqlite3.Connection) -> set[str]:
    return set(_schema(db))


def test_a_new_ledger_gets_the_claims_table_and_the_open_index_from_a_migration() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    assert set(BULK_SCHEMA) <= _names(db)
    applied = {str(r[0]) for r in db.execute("SELECT name FROM _migrations")}
    assert "m006_bulk_claims_and_open_index" in applied


def test_opening_the_stores_changes_no_schema() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    before = _schema(db)
    SqliteCampaignStore(db, FakeClock(0.0))
    SqliteGuardStore(db, FakeClock(0.0))
    assert _schema(db) == before


def test_a_ledger_that_made_them_on_the_fly_migrates_and_keeps_its_claims() -> None:
    """Before m006 the stores ran CREATE ... IF NOT EXISTS when they opened."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    earlier = [(n, fn) for n, fn in MIGRATIONS if n < "m006"]
    for name, fn in earlier:
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    db.execute(
        "CREATE TABLE IF NOT EXISTS bulk_claims (recipient_id INTEGER PRIMARY KEY, "
        "campaign_id TEXT NOT NULL, seq INTEGER NOT NULL, contact_id TEXT, phone TEXT, "
        "cost REAL NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS bulk_claims_contact ON bulk_claims (campaign_id, contact_id)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS bulk_claims_phone ON bulk_claims (campaign_id, phone)")
    db.execute(
        "CREATE INDEX IF NOT EXISTS bulk_recipients_open_seq ON bulk_recipients (campaign_id, seq) "
        "WHERE state IN ('pending', 'deferred')"
    )
    db.execute("INSERT INTO bulk_claims VALUES (1, 'cmp_a', 1, 'ct1', '+14155550100', 0.0079)")

    assert migrate(db) == [n for n, _ in MIGRATIONS if n >= "m006"]
    assert set(BULK_SCHEMA) <= _names(db)
    assert db.execute("SELECT contact_id, cost FROM bulk_claims").fetchall() == [("ct1", 0.0079)]
    assert migrate(db) == []
