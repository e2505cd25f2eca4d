"""The campaign store's contract, on SQLite and PostgreSQL from the same tests: claiming
due rows (never one row twice, even from eight connections at once), fencing (a stale
epoch writes nothing), a campaign created in one transaction (rolled back: no rows),
and the bookkeeping ``bulk status`` reads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.bulk.dispatcher import Owner, SqlLeases
from ghl_sms.ops.bulk.models import Campaign, CampaignState, NewRecipient, RecipientState
from ghl_sms.ops.bulk.store import SqlCampaignStore
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.storage import bulk_storage
from ghl_sms.ops.storage.ports import Fence
from ghl_sms.ops.storage.sql import write_transaction
from support.backends import Backend

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC).timestamp()
LOC = "loc1"


def _campaign(campaign_id: str = "cmp_1") -> Campaign:
    at = datetime.fromtimestamp(NOW, UTC)
    return Campaign(
        id=campaign_id, location_id=LOC, name="test", template="Hi {first_name}",
        source="contacts", state=CampaignState.RUNNING, created_at=at, updated_at=at,
    )  # fmt: skip


def _rows(count: int) -> list[NewRecipient]:
    return [
        NewRecipient(f"ct{i}", f"+1555000{i:04d}", {"first_name": f"P{i}"}) for i in range(count)
    ]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(backend: Backend, clock: FakeClock) -> SqlCampaignStore:
    store = SqlCampaignStore(backend.connection(clock), clock)
    store.create_campaign(_campaign())
    return store


def test_due_rows_are_claimed_in_list_order_once(store: SqlCampaignStore) -> None:
    counts = store.add_recipients("cmp_1", 1, [*_rows(5), NewRecipient("ct0", None, {})])
    assert counts == {"pending": 5, "duplicate_recipient": 1}
    store.finish(1, RecipientState.DEFERRED, not_before=NOW + 60)
    first = store.claim_due(["cmp_1"], NOW, 3)
    assert [r.seq for r in first] == [2, 3, 4]
    assert all(r.state == RecipientState.PENDING for r in first)  # as they were when taken
    assert [r.seq for r in store.sending(["cmp_1"])] == [2, 3, 4]
    assert [r.seq for r in store.claim_due(["cmp_1"], NOW, 10)] == [5]
    assert [r.seq for r in store.claim_due(["cmp_1"], NOW + 60, 10)] == [1]  # now due
    assert store.claim_due(["cmp_1"], NOW + 60, 10) == []
    store.finish(2, RecipientState.SENT, message_id="m2")
    assert store.counts("cmp_1")[("sent", None)] == 1
    assert store.sent_since("cmp_1", NOW - 1) == 1
    assert store.open_summary("cmp_1") == (4, 0, NOW + 60)


def test_eight_connections_claiming_at_once_never_take_one_row_twice(
    backend: Backend, store: SqlCampaignStore
) -> None:
    store.add_recipients("cmp_1", 1, _rows(120))
    taken: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(8)

    def pump() -> None:
        ledger = Ledger.open(backend.target, FakeClock(NOW))  # a worker's own connection
        try:
            mine = SqlCampaignStore(ledger.conn, FakeClock(NOW))
            start.wait()
            while rows := mine.claim_due(["cmp_1"], NOW, 4):
                with guard:
                    taken.extend(r.seq for r in rows)
        finally:
            ledger.close()

    threads = [threading.Thread(target=pump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(1, 121))


def test_a_stale_epoch_writes_nothing(backend: Backend, store: SqlCampaignStore) -> None:
    leases = SqlLeases(backend.connection(FakeClock(NOW)))
    store.add_recipients("cmp_1", 1, _rows(4))
    old = leases.acquire(LOC, Owner("old", "host-a", 1), NOW, 30)
    assert old is not None
    [row] = store.claim_due(["cmp_1"], NOW, 1, fence=old)
    # The old pump froze past its lease; another took the location over.
    new = leases.acquire(LOC, Owner("new", "host-b", 2), NOW + 31, 30)
    assert new is not None and new.epoch == old.epoch + 1
    assert not store.finish(row.id, RecipientState.SENT, message_id="zombie", fence=old)
    assert store.claim_due(["cmp_1"], NOW + 31, 10, fence=old) == []
    [again] = [r for r in store.sending(["cmp_1"]) if r.id == row.id]
    assert again.message_id is None  # the zombie's outcome was not written
    assert store.finish(row.id, RecipientState.SENT, message_id="m1", fence=new)
    assert [r.seq for r in store.claim_due(["cmp_1"], NOW + 31, 10, fence=new)] == [2, 3, 4]
    assert store.finish(2, RecipientState.SENT, fence=Fence("never-leased", 1)) is False


def test_an_outcome_is_one_fenced_statement_and_a_takeover_under_way_makes_it_write_nothing(
    backend: Backend, store: SqlCampaignStore, clock: FakeClock
) -> None:
    """PostgreSQL runs writers side by side: an outcome written under the old epoch
    while a takeover is committing waits for it, then matches nothing."""
    from ghl_sms.ops.storage.postgres import PgConnection

    if not backend.postgres:
        pytest.skip("SQLite has one writer at a time: the sequential test covers it")
    conn = backend.connection(clock)
    assert isinstance(conn, PgConnection) and isinstance(store._db, PgConnection)
    leases = SqlLeases(conn)
    store.add_recipients("cmp_1", 1, _rows(2))
    old = leases.acquire(LOC, Owner("old", "host-a", 1), NOW, 30)
    assert old is not None
    first, second = store.claim_due(["cmp_1"], NOW, 2, fence=old)
    before = store._db.round_trips
    assert store.finish(first.id, RecipientState.SENT, message_id="m1", fence=old)
    assert store._db.round_trips - before == 1  # the fence check rides on the UPDATE
    written: list[bool] = []
    pid = store._db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with write_transaction(conn):  # the takeover, not yet committed
        conn.execute("UPDATE bulk_leases SET epoch = epoch + 1, owner = 'new' WHERE name = ?",
                     (LOC,))  # fmt: skip
        zombie = threading.Thread(target=lambda: written.append(store.finish(
            second.id, RecipientState.SENT, message_id="zombie", fence=old)))  # fmt: skip
        zombie.start()
        while (
            zombie.is_alive()
            and not conn.execute(  # until it waits on the lease row
                "SELECT 1 FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'", (pid,)
            ).fetchone()
        ):
            zombie.join(0.01)
    zombie.join()
    assert written == [False]
    [row] = store.sending(["cmp_1"])
    assert row.id == second.id and row.message_id is None  # the zombie wrote nothing


def test_a_campaign_created_in_a_rolled_back_transaction_leaves_no_rows(
    backend: Backend, clock: FakeClock
) -> None:
    conn = backend.connection(clock)
    store = SqlCampaignStore(conn, clock)
    with pytest.raises(RuntimeError), write_transaction(conn):
        store.create_campaign(_campaign("cmp_gone"))
        store.add_recipients("cmp_gone", 1, _rows(10))
        raise RuntimeError("the process died before the campaign was complete")
    assert store.get_campaign("cmp_gone") is None
    assert conn.execute("SELECT count(*) FROM bulk_recipients").fetchone()[0] == 0
    with write_transaction(conn):
        store.create_campaign(_campaign("cmp_kept"))
        store.add_recipients("cmp_kept", 1, _rows(10))
    assert store.get_campaign("cmp_kept") is not None
    assert len(list(store.iter_recipients("cmp_kept"))) == 10


def test_campaign_states_and_waiting(store: SqlCampaignStore) -> None:
    paused = store.set_state("cmp_1", CampaignState.PAUSED, reason="asked")
    assert paused is not None and paused.state == CampaignState.PAUSED
    assert store.set_state("cmp_1", CampaignState.RUNNING, only_from=[CampaignState.DRAFT]) is None
    store.set_waiting("cmp_1", "daily_cap", NOW + 3600)
    store.set_waiting("cmp_1", "daily_cap", NOW + 3600)  # the same: nothing changes
    campaign = store.get_campaign("cmp_1")
    assert campaign is not None and campaign.waiting_reason == "daily_cap"
    assert campaign.waiting_until == datetime.fromtimestamp(NOW + 3600, UTC)
    store.set_waiting("cmp_1", None, None)
    campaign = store.get_campaign("cmp_1")
    assert campaign is not None and campaign.waiting_until is None
    assert [c.id for c in store.list_campaigns(LOC)] == ["cmp_1"]


def test_the_storage_factory_gives_every_port_on_the_ledgers_backend(
    backend: Backend, clock: FakeClock
) -> None:
    parts = bulk_storage(backend.connection(clock), clock)
    parts.store.create_campaign(_campaign("cmp_f"))
    assert parts.leases.acquire(LOC, Owner.here(), NOW, 30) == Fence(LOC, 1)
    claim = parts.guards.claim(recipient_id=1, campaign_id="cmp_f", seq=1, contact_id="ct1",
                               phone=None, cost=0.01, max_cost=None)  # fmt: skip
    again = parts.guards.claim(recipient_id=2, campaign_id="cmp_f", seq=2, contact_id="ct1",
                               phone=None, cost=0.01, max_cost=None)  # fmt: skip
    assert claim.duplicate_of is None and again.duplicate_of == 1
