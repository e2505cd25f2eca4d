"""The ledger's guarantees, on a real SQLite file and on PostgreSQL, with an injected clock."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops._ledger_file import APPLICATION_ID
from ghl_sms.ops._migrations import MIGRATIONS, migrate
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.ledger import (
    Ledger,
    RepeatSendError,
    SendInProgressError,
    SendState,
    derive_idempotency_key,
)
from support.backends import Backend, statement_counter

LOC = "loc1"


def claim(ledger: Ledger, key: str = "k1", **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "key_origin": "caller",
        "location_id": LOC,
        "contact_id": "ct1",
        "to_number": "+15550001111",
        "text": "Hello",
    }
    fields.update(overrides)
    return ledger.claim(**fields)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(clock: FakeClock, backend: Backend) -> Ledger:
    """The ledger on SQLite and on PostgreSQL: every test below runs against both."""
    return backend.ledger(clock)


def test_a_new_send_is_recorded_pending_before_it_goes_out(ledger: Ledger) -> None:
    result = claim(ledger)
    assert result.kind == "new"
    assert result.record.state is SendState.PENDING
    assert ledger.get("k1") == result.record


def test_a_repeat_of_a_key_that_succeeded_returns_the_first_result(
    ledger: Ledger, clock: FakeClock
) -> None:
    first = claim(ledger).record
    ledger.mark_sent(first.id, message_id="m1", conversation_id="c1", status="pending")
    clock.advance(86_400 * 30)
    again = claim(ledger)
    assert again.kind == "duplicate"
    assert again.record.message_id == "m1"


def test_a_derived_key_repeat_inside_the_window_is_a_duplicate_and_after_it_a_new_send(
    ledger: Ledger, clock: FakeClock
) -> None:
    first = claim(ledger, key_origin="derived").record
    ledger.mark_sent(first.id, message_id="m1", conversation_id="c1", status="pending")
    clock.advance(300)
    assert claim(ledger, key_origin="derived").kind == "duplicate"
    clock.advance(301)
    second = claim(ledger, key_origin="derived")
    assert second.kind == "new" and second.record.id != first.id
    assert ledger.get_by_id(first.id).message_id == "m1"  # the first one is kept


def test_the_same_text_under_another_key_inside_the_window_is_refused(
    ledger: Ledger, clock: FakeClock
) -> None:
    first = claim(ledger, key="k1").record
    ledger.mark_sent(first.id, message_id="m1", conversation_id="c1", status="pending")
    clock.advance(599)
    with pytest.raises(RepeatSendError) as info:
        claim(ledger, key="k2")
    assert info.value.previous.message_id == "m1"
    assert claim(ledger, key="k3", allow_repeat=True).kind == "new"


def test_the_repeat_guard_matches_the_phone_when_the_contact_is_not_known_yet(
    ledger: Ledger,
) -> None:
    claim(ledger, key="k1", contact_id=None)
    with pytest.raises(RepeatSendError):
        claim(ledger, key="k2", contact_id=None)


def test_the_repeat_guard_window_is_configurable_and_ignores_failures(
    ledger: Ledger, clock: FakeClock
) -> None:
    first = claim(ledger, key="k1").record
    ledger.mark_failed(first.id, error_code="400", error_message="DND")
    assert claim(ledger, key="k2").kind == "new"  # a failed send sent nothing
    clock.advance(61)
    assert claim(ledger, key="k3", repeat_window=60, text="Hello").kind == "new"


def test_a_crash_between_record_and_send_leaves_a_record_that_is_reconciled_next_time(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "ledger.db"
    first = Ledger.open(path, clock)
    claim(first)  # ... and the process dies before sending
    first.close()
    clock.advance(121)  # the dead worker's lease runs out
    second = Ledger.open(path, clock)
    assert [r.idempotency_key for r in second.in_doubt(LOC)] == ["k1"]
    again = claim(second)
    assert again.kind == "in_doubt"
    assert again.record.attempts == 2


def test_a_send_held_by_another_worker_is_not_taken_over(ledger: Ledger, clock: FakeClock) -> None:
    claim(ledger)
    clock.advance(10)
    with pytest.raises(SendInProgressError):
        claim(ledger)


def test_an_unknown_outcome_is_in_doubt_at_once(ledger: Ledger) -> None:
    record = claim(ledger).record
    ledger.mark_unknown(record.id, error_message="read timeout")
    again = claim(ledger)
    assert again.kind == "in_doubt" and again.record.state is SendState.UNKNOWN


def test_a_failed_key_can_be_tried_again_as_a_fresh_attempt(ledger: Ledger) -> None:
    record = claim(ledger).record
    ledger.mark_failed(record.id, error_code=None, error_message="refused")
    again = claim(ledger)
    assert again.kind == "new" and again.record.id == record.id and again.record.attempts == 2


def test_every_write_returns_the_record_as_stored_and_an_outcome_is_one_statement(
    ledger: Ledger, clock: FakeClock, backend: Backend
) -> None:
    """Claims and outcomes hand back the row they wrote (RETURNING, no read after):
    it must be what the next read finds, whatever path wrote it."""
    other = backend.ledger(clock)  # another process's view
    new = claim(ledger, template="Hi {name}", contact_name="Pat")
    assert other.get("k1") == new.record and new.record.template == "Hi {name}"
    clock.advance(5)
    statements = statement_counter(ledger.conn)
    sent = ledger.mark_sent(new.record.id, message_id="m1", conversation_id="c1", status="sent")
    assert statements() == 1  # one UPDATE ... RETURNING: no BEGIN/COMMIT, no read
    assert other.get("k1") == sent and sent.state is SendState.SENT
    assert sent.updated_at == clock.now() and sent.lease_until is None
    failed = claim(ledger, "k2", text="Other")
    ledger.mark_failed(failed.record.id, error_code="x", error_message="refused")
    retried = claim(ledger, "k2", text="Other, again")  # a fresh attempt with a new text
    assert retried.kind == "new" and other.get("k2") == retried.record
    assert retried.record.text == "Other, again" and retried.record.attempts == 2
    ledger.mark_unknown(retried.record.id, error_message="timeout")
    doubt = claim(ledger, "k2", text="Other, again")
    assert doubt.kind == "in_doubt" and other.get("k2") == doubt.record
    with pytest.raises(KeyError):
        ledger.mark_sent(10_000, message_id="m9", conversation_id=None, status=None)


def test_scheduled_messages_are_listed_until_cancelled(ledger: Ledger, clock: FakeClock) -> None:
    record = claim(ledger, scheduled_at=clock.now() + 3600).record
    ledger.mark_sent(record.id, message_id="m1", conversation_id="c1", status="scheduled")
    assert [r.message_id for r in ledger.scheduled(LOC)] == ["m1"]
    ledger.mark_cancelled("m1")
    assert ledger.scheduled(LOC) == []
    assert ledger.get("k1") is not None and ledger.get("k1").state is SendState.CANCELLED  # type: ignore[union-attr]


def test_status_updates_find_the_send_by_message_id(ledger: Ledger) -> None:
    record = claim(ledger).record
    ledger.mark_sent(record.id, message_id="m1", conversation_id="c1", status="pending")
    updated = ledger.update_status("m1", "failed", error_code="30034", error_message="unregistered")
    assert updated is not None
    assert (updated.status, updated.error_code) == ("failed", "30034")
    assert ledger.update_status("nope", "delivered") is None


def test_opt_outs_are_recorded_once_matched_by_phone_or_contact_and_lifted(
    ledger: Ledger,
) -> None:
    ledger.record_opt_out(LOC, phone="+15550001111", contact_id="ct1", source="keyword")
    ledger.record_opt_out(LOC, phone="+15550001111", source="keyword")
    assert ledger.opt_out_for(LOC, phone="+15550001111") is not None
    assert ledger.opt_out_for(LOC, contact_id="ct1") is not None
    assert ledger.opt_out_for("other-location", contact_id="ct1") is None
    assert ledger.lift_opt_out(LOC, contact_id="ct1") == 1
    assert ledger.opt_out_for(LOC, phone="+15550001111") is None


def test_derived_keys_change_with_any_part_of_the_send() -> None:
    base: dict[str, Any] = {"location_id": LOC, "recipient": "ct1", "text": "Hi"}
    key = derive_idempotency_key(**base)
    assert key == derive_idempotency_key(**base)
    for change in ({"text": "Hi!"}, {"recipient": "ct2"}, {"attachments": ["https://x/a.png"]},
                   {"scheduled_at": 1.0}, {"from_number": "+15550009999"}):  # fmt: skip
        assert derive_idempotency_key(**{**base, **change}) != key


def test_migrations_on_a_blank_database_give_the_expected_columns() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    assert migrate(db) == [name for name, _ in MIGRATIONS]
    assert migrate(db) == []
    columns = [row[1] for row in db.execute("PRAGMA table_info(sends)")]
    assert columns[:3] == ["id", "idempotency_key", "key_origin"]
    assert {"state", "message_id", "lease_until", "campaign_id"} <= set(columns)


def _foreign_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()


def _other_app_id(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE sends (x)")
    db.execute("CREATE TABLE _migrations (name)")
    db.commit()
    db.close()


def _damaged(path: Path) -> None:
    _foreign_sqlite(path)
    data = bytearray(path.read_bytes())
    data[16:100] = b"\xff" * 84  # the page size and the header after the magic string
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("name,phone\nAva,+14155550100\n"), "not an SQLite database"),
        (lambda p: sqlite3.connect(p).execute("VACUUM"), "empty database"),
        (_foreign_sqlite, "lacks a ledger's tables"),
        (_other_app_id, "another program"),
        (_damaged, "SQLite says"),
        (lambda p: p.mkdir(), "folder"),
    ],
    ids=["empty", "text", "blank-sqlite", "foreign-sqlite", "other-app", "damaged", "folder"],
)
def test_an_existing_file_that_is_not_a_ledger_is_refused_and_left_untouched(
    tmp_path: Path, clock: FakeClock, make: Any, why: str
) -> None:
    path = tmp_path / "ledger.db"
    make(path)
    before = sorted(p.name for p in tmp_path.iterdir())
    content = path.read_bytes() if path.is_file() else None
    with pytest.raises(LedgerUnusable) as info:
        Ledger.open(path, clock)
    message = str(info.value)
    assert str(path) in message and why in message
    assert "not a ghl-sms ledger or is damaged" in message and "GHL_SMS_LEDGER" in message
    assert info.value.path == path
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no journal, no new file
    if content is not None:
        assert path.read_bytes() == content


def test_a_ledger_is_created_where_nothing_exists_and_reopened_with_its_records(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "deep" / "er" / "ledger.db"
    first = Ledger.open(path, clock)
    claim(first)
    first.close()
    files = {p.name for p in path.parent.iterdir()} - {"ledger.db-wal", "ledger.db-shm"}
    assert files == {"ledger.db"}  # the scratch file it was built in is gone
    again = Ledger.open(path, clock)
    assert again.get("k1") is not None
    app_id = again.db.execute("PRAGMA application_id").fetchone()[0]
    assert app_id == APPLICATION_ID


def test_a_ledger_made_before_files_were_stamped_still_opens_and_keeps_its_sends(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    old = MIGRATIONS[:3]  # what earlier versions applied, without an application id
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for name, fn in old:
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    db.execute(
        "INSERT INTO sends (idempotency_key, key_origin, location_id, text, text_hash, state, "
        "created_at, updated_at) VALUES ('old', 'caller', ?, 'Hi', 'h', 'sent', 1, 1)",
        (LOC,),
    )
    db.close()
    ledger = Ledger.open(path, clock)
    record = ledger.get("old")
    assert record is not None and record.template is None and record.given_text == "Hi"
    assert ledger.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path, clock: FakeClock) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(LedgerUnusable, match="Cannot create the folder"):
        Ledger.open(blocker / "ledger.db", clock)
    assert blocker.read_text() == "a file where the folder should be"
