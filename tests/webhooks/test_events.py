"""The event log's own guarantees, over a ledger connection with an injected clock."""

from __future__ import annotations

import sqlite3

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops._migrations import migrate
from ghl_sms.ops.events import Admission, EventLog, StatusEvent
from ghl_sms.ops.ledger import Ledger

LOC = "loc1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock) -> Ledger:
    return Ledger.open(":memory:", clock)


@pytest.fixture
def log(ledger: Ledger, clock: FakeClock) -> EventLog:
    return EventLog(ledger.db, clock)


def admit(log: EventLog, key: str, forget_at: float, body: bytes | None = b"{}") -> Admission:
    return log.admit(
        dedupe_key=key,
        forget_at=forget_at,
        event_type="InboundMessage",
        webhook_id=key,
        location_id=LOC,
        scheme="ed25519",
        event_at=0.0,
        body=body,
    )


def test_migrating_a_blank_db_gives_the_webhook_tables_with_their_columns() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)

    def columns(table: str) -> list[str]:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]

    assert columns("webhook_seen") == ["dedupe_key", "forget_at"]
    assert columns("webhook_inbox") == [
        "id", "webhook_id", "event_type", "location_id", "scheme", "event_at", "body",
        "received_at", "lease_until", "attempts", "last_error",
    ]  # fmt: skip
    assert columns("inbound_messages") == [
        "id", "message_id", "webhook_id", "location_id", "contact_id", "conversation_id",
        "from_number", "to_number", "message_type", "body", "attachments", "date_added",
        "keyword", "received_at",
    ]  # fmt: skip
    assert columns("message_status_events") == [
        "id", "message_id", "location_id", "status", "error_code", "error_message", "at",
        "source", "webhook_id", "received_at",
    ]  # fmt: skip
    assert columns("contact_dnd_events") == [
        "id", "location_id", "contact_id", "phone", "dnd", "sms_status", "dnd_settings",
        "blocks_sms", "at", "webhook_id", "received_at",
    ]  # fmt: skip
    assert columns("conversation_unread") == [
        "conversation_id", "location_id", "contact_id", "unread_count", "inbox", "starred",
        "deleted", "at", "updated_at",
    ]  # fmt: skip


def test_an_admitted_key_is_refused_until_it_is_forgotten(log: EventLog, clock: FakeClock) -> None:
    first = admit(log, "w1", forget_at=clock.now() + 600)
    assert first == Admission(duplicate=False, inbox_id=first.inbox_id)
    assert first.inbox_id is not None
    assert admit(log, "w1", forget_at=clock.now() + 600) == Admission(duplicate=True)
    assert len(log.inbox()) == 1
    clock.advance(601)
    assert not log.seen("w1")
    assert admit(log, "w1", forget_at=clock.now() + 600).duplicate is False


def test_forgotten_keys_are_pruned_as_new_ones_arrive(
    log: EventLog, ledger: Ledger, clock: FakeClock
) -> None:
    for n in range(5):
        admit(log, f"w{n}", forget_at=clock.now() + 600, body=None)
    clock.advance(700)
    admit(log, "fresh", forget_at=clock.now() + 600, body=None)
    assert ledger.db.execute("SELECT dedupe_key FROM webhook_seen").fetchall() == [("fresh",)]
    assert log.inbox() == []  # body=None: remembered, not queued


def test_an_abandoned_inbox_row_is_leased_to_one_taker_at_a_time(
    log: EventLog, clock: FakeClock
) -> None:
    admitted = admit(log, "w1", forget_at=clock.now() + 600)
    assert log.take_abandoned() == []  # its receiver still holds it
    clock.advance(61)
    assert log.take_abandoned() == [admitted.inbox_id]
    assert log.take_abandoned() == []  # leased again, to the taker


def test_an_inbox_row_that_keeps_failing_is_given_up_after_max_attempts(
    log: EventLog, clock: FakeClock
) -> None:
    admitted = admit(log, "w1", forget_at=clock.now() + 600)
    assert admitted.inbox_id is not None
    for _ in range(3):
        log.inbox_failed(admitted.inbox_id, "boom")
    clock.advance(61)
    assert log.take_abandoned(max_attempts=3) == []
    [kept] = log.inbox()
    assert (kept.attempts, kept.last_error) == (3, "boom")


def test_the_newest_status_is_the_last_made_then_the_furthest_along(log: EventLog) -> None:
    log.record_status("m1", "delivered", at=10.0)
    latest = log.record_status("m1", "sent", at=5.0)
    assert (latest.status, latest.at) == ("delivered", 10.0)
    latest = log.record_status("m1", "read", at=10.0)
    assert latest.status == "read"
    assert [e.status for e in log.status_events("m1")] == ["sent", "delivered", "read"]


def test_a_repeated_status_report_adds_nothing(log: EventLog, clock: FakeClock) -> None:
    log.record_status("m1", "sent", at=1.0, source="poll")
    log.record_status("m1", "sent", at=2.0, source="poll")
    assert log.status_events("m1") == [
        StatusEvent(
            message_id="m1",
            location_id=None,
            status="sent",
            error_code=None,
            error_message=None,
            at=1.0,
            source="poll",
            webhook_id=None,
            received_at=clock.now(),
        )
    ]


def test_lifting_by_source_leaves_other_opt_outs_alone(log: EventLog, ledger: Ledger) -> None:
    ledger.record_opt_out(LOC, contact_id="c1", source="keyword")
    ledger.record_opt_out(LOC, contact_id="c2", source="webhook_dnd")
    assert log.lift_opt_outs(LOC, source="webhook_dnd", contact_id="c1") == 0
    assert log.lift_opt_outs(LOC, source="webhook_dnd", contact_id="c2") == 1
    assert ledger.opt_out_for(LOC, contact_id="c1") is not None
    assert ledger.opt_out_for(LOC, contact_id="c2") is None


def test_an_inbound_message_is_stored_once(log: EventLog) -> None:
    assert log.record_inbound(location_id=LOC, message_id="m1", body="hi")
    assert not log.record_inbound(location_id=LOC, message_id="m1", body="hi")
    assert log.has_inbound("m1")
    assert [m.body for m in log.inbound_messages(LOC)] == ["hi"]
