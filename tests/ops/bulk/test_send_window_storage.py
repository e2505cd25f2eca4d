"""The campaign's send window in the database, on SQLite and PostgreSQL: stored and read
back by another connection (a worker elsewhere, ``bulk resume``), and added by a
migration to a database that already holds campaigns (which keep no window)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.bulk.models import Campaign, CampaignState
from ghl_sms.ops.bulk.store import SqlCampaignStore
from ghl_sms.ops.storage.schema import migrations_for, upgrade
from ghl_sms.ops.storage.sql import Connection, dialect, write_transaction
from ghl_sms.rules.send_window import SendWindow
from support.backends import Backend

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
NEW = {"sqlite": "m009_campaign_send_window", "postgres": "pg003_campaign_send_window"}


def _campaign(campaign_id: str, send_window: str | None) -> Campaign:
    return Campaign(
        id=campaign_id, location_id="loc1", name="test", template="Hi", source="contacts",
        state=CampaignState.DRAFT, created_at=NOW, updated_at=NOW, send_window=send_window,
    )  # fmt: skip


def test_the_window_is_read_back_by_another_connection(backend: Backend) -> None:
    clock = FakeClock(NOW.timestamp())
    SqlCampaignStore(backend.connection(clock), clock).create_campaign(
        _campaign("cmp_w", "09:30-17:00")
    )
    SqlCampaignStore(backend.connection(clock), clock).create_campaign(_campaign("cmp_n", None))
    elsewhere = SqlCampaignStore(backend.connection(clock), clock)
    stored = elsewhere.get_campaign("cmp_w")
    assert stored is not None and stored.send_window == "09:30-17:00"
    assert stored.send_window_spec == SendWindow.parse("09:30-17:00")
    assert {c.id: c.send_window for c in elsewhere.list_campaigns("loc1")} == {
        "cmp_w": "09:30-17:00",
        "cmp_n": None,
    }
    running = elsewhere.set_state("cmp_w", CampaignState.RUNNING)
    assert running is not None and running.send_window == "09:30-17:00"
    assert [c.send_window for c in elsewhere.running_campaigns("loc1")] == ["09:30-17:00"]


@contextmanager
def _raw(kind: str, tmp_path: Path, pg_empty: str | None) -> Iterator[Connection]:
    if kind == "sqlite":
        db = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    else:
        from ghl_sms.ops.storage.postgres import connect

        assert pg_empty is not None
        db = connect(pg_empty)  # type: ignore[assignment]
    try:
        yield db
    finally:
        db.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_database_with_campaigns_gets_the_column_and_they_keep_no_window(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg_empty = request.getfixturevalue("pg_empty_url") if kind == "postgres" else None
    with _raw(kind, tmp_path, pg_empty) as db:
        assert dialect(db) == kind
        earlier = [(n, fn) for n, fn in migrations_for(kind) if n != NEW[kind]]
        assert len(earlier) == len(migrations_for(kind)) - 1  # the window's is the last
        with write_transaction(db):
            db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            for name, fn in earlier:
                fn(db)
                db.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
            db.execute(
                "INSERT INTO bulk_campaigns (id, location_id, name, template, quiet_hours, "
                "max_attempts, source, state, created_at, updated_at) "
                "VALUES ('cmp_old', 'loc1', 'old', 'Hi', 'defer', 5, 'contacts', 'paused', ?, ?)",
                (NOW.timestamp(), NOW.timestamp()),
            )
        assert upgrade(db) == [NEW[kind]]
        assert upgrade(db) == []
        clock = FakeClock(NOW.timestamp())
        store = SqlCampaignStore(db, clock)
        old = store.get_campaign("cmp_old")
        assert old is not None and old.send_window is None and old.send_window_spec is None
        store.create_campaign(_campaign("cmp_new", "08:00-12:15"))
        new = store.get_campaign("cmp_new")
        assert new is not None and new.send_window == "08:00-12:15"
