"""ops.optouts: manual opt-outs, the STOP-wins rule, the audit trail and GHL's DND."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.errors import PreflightBlocked, UsageError
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.optouts import (
    OptOutBook,
    OptOutRemovalRefused,
    find_dnd,
    normalise_phone,
    sync_dnd,
)
from ghl_sms.ops.service import SendRequest
from support.stack import WEEKDAY_NOON, stack

LOC = "loc1"
PHONE = "+14155550100"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(WEEKDAY_NOON)


@pytest.fixture
def ledger(clock: FakeClock) -> Ledger:
    return Ledger.open(":memory:", clock)


@pytest.fixture
def book(ledger: Ledger, clock: FakeClock) -> OptOutBook:
    return OptOutBook(ledger, clock)


def test_a_manual_opt_out_is_listed_blocks_and_is_audited(book: OptOutBook, ledger: Ledger) -> None:
    outcome = book.add(LOC, PHONE, reason="asked on the phone", actor="sam")
    assert outcome.added and outcome.opt_out.source == "manual"
    assert ledger.opt_out_for(LOC, phone=PHONE) is not None  # what the send path checks
    [entry] = book.opt_outs(LOC)
    assert (entry.phone, entry.source_label, entry.detail) == (
        PHONE,
        "manual",
        "asked on the phone",
    )
    assert entry.created_at == datetime.fromtimestamp(WEEKDAY_NOON, UTC)
    [audit] = book.audit(LOC)
    assert (audit.action, audit.actor, audit.reason, audit.sync) == (
        "add",
        "sam",
        "asked on the phone",
        None,
    )
    assert book.opt_outs("anotherLocation") == []


def test_adding_twice_keeps_the_first_and_audits_once(book: OptOutBook, ledger: Ledger) -> None:
    ledger.record_opt_out(LOC, phone=PHONE, source="keyword", detail="STOP")
    again = book.add(LOC, PHONE, reason="called in")
    assert not again.added and again.opt_out.source == "keyword"
    assert again.audit_id is None and book.audit(LOC) == []
    assert len(book.opt_outs(LOC)) == 1


def test_removing_a_manual_opt_out_needs_a_reason_and_is_recorded(
    book: OptOutBook, ledger: Ledger, clock: FakeClock
) -> None:
    book.add(LOC, PHONE, actor="sam")
    with pytest.raises(UsageError, match="reason"):
        book.remove(LOC, PHONE, reason="  ")
    assert ledger.opt_out_for(LOC, phone=PHONE) is not None
    clock.advance(60)
    removed = book.remove(LOC, PHONE, reason="added by mistake", actor="kim")
    assert [e.source for e in removed.lifted] == ["manual"]
    assert ledger.opt_out_for(LOC, phone=PHONE) is None
    assert book.opt_outs(LOC) == []
    [lifted] = book.opt_outs(LOC, include_lifted=True)
    assert lifted.lifted_at == datetime.fromtimestamp(WEEKDAY_NOON + 60, UTC)
    audit = book.audit(LOC)
    assert [(a.action, a.actor, a.reason, a.sources) for a in audit] == [
        ("remove", "kim", "added by mistake", ["manual"]),
        ("add", "sam", None, []),
    ]


@pytest.mark.parametrize("source", ["keyword", "carrier"])
def test_a_stop_is_never_removed_by_hand(book: OptOutBook, ledger: Ledger, source: str) -> None:
    ledger.record_opt_out(LOC, phone=PHONE, contact_id="c1", source=source, detail="STOP")
    with pytest.raises(OptOutRemovalRefused, match="text START") as info:
        book.remove(LOC, PHONE, reason="customer says it was a mistake")
    assert info.value.opt_out is not None and info.value.opt_out.source == source
    assert ledger.opt_out_for(LOC, phone=PHONE) is not None  # still blocked
    assert book.audit(LOC) == []  # a refused removal changes nothing


def test_a_stop_after_a_manual_removal_wins_again(book: OptOutBook, ledger: Ledger) -> None:
    book.add(LOC, PHONE)
    book.remove(LOC, PHONE, reason="wrong number")
    ledger.record_opt_out(LOC, phone=PHONE, source="keyword", detail="stop")
    with pytest.raises(OptOutRemovalRefused):
        book.remove(LOC, PHONE, reason="again")


def test_a_stop_followed_by_a_start_may_be_removed(
    book: OptOutBook, ledger: Ledger, clock: FakeClock
) -> None:
    ledger.record_opt_out(LOC, phone=PHONE, source="keyword", detail="STOP")
    events = EventLog(ledger.db, clock)
    # A START from before the STOP does not count...
    events.record_inbound(
        location_id=LOC, message_id="m0", from_number=PHONE, body="START",
        date_added=WEEKDAY_NOON - 60, keyword="opt_in",
    )  # fmt: skip
    with pytest.raises(OptOutRemovalRefused):
        book.remove(LOC, PHONE, reason="they opted back in")
    # ...one after it does (recorded, though not applied by a receiver).
    events.record_inbound(
        location_id=LOC, message_id="m1", from_number=PHONE, body="START",
        date_added=WEEKDAY_NOON + 60, keyword="opt_in",
    )  # fmt: skip
    removed = book.remove(LOC, PHONE, reason="they opted back in")
    assert [e.source for e in removed.lifted] == ["keyword"]


def test_removing_nothing_says_so(book: OptOutBook) -> None:
    removed = book.remove(LOC, PHONE, reason="checking")
    assert removed.lifted == []


def test_phones_are_normalised_or_refused() -> None:
    assert normalise_phone("(415) 555-0100") == PHONE
    with pytest.raises(UsageError, match="not a valid phone number"):
        normalise_phone("12345")


@pytest.mark.anyio
async def test_a_manual_opt_out_refuses_the_next_send() -> None:
    async with stack() as s:
        book = OptOutBook(s.ledger, s.clock)
        book.add(s.service.location_id, PHONE, reason="phoned in")
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Hi Ava"))
        assert [str(r.code) for r in info.value.reasons] == ["opted_out"]
        assert s.messages(s.ids("reachable")) == []


@pytest.mark.anyio
async def test_sync_sets_and_clears_sms_dnd_in_ghl() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        contact, current = await find_dnd(s.client, PHONE)
        assert contact is not None and contact.id == ava and current == "inactive"
        synced = await sync_dnd(s.client, contact, current, opted_out=True)
        assert (synced.result, synced.contact_id, synced.contact_name) == ("set", ava, "Ava Reed")
        assert s.sandbox.contact(ava)["dndSettings"]["SMS"]["status"] == "active"  # type: ignore[index]
        contact, current = await find_dnd(s.client, PHONE)
        assert current == "active"
        assert (await sync_dnd(s.client, contact, current, opted_out=True)).result == "already"
        assert (await sync_dnd(s.client, contact, current, opted_out=False)).result == "cleared"
        assert s.sandbox.contact(ava)["dndSettings"]["SMS"]["status"] == "inactive"  # type: ignore[index]
        nobody, state = await find_dnd(s.client, "+14155550199")
        assert (nobody, state) == (None, None)
        assert (await sync_dnd(s.client, None, None, opted_out=True)).result == "no_contact"


@pytest.mark.anyio
async def test_sync_never_clears_a_permanent_dnd() -> None:
    async with stack() as s:
        ben = s.ids("sms_dnd")
        await s.client.update_contact_dnd(ben, sms_status="permanent")
        contact, current = await find_dnd(s.client, "+14155550102")
        assert current == "permanent"
        with pytest.raises(OptOutRemovalRefused, match="permanent"):
            await sync_dnd(s.client, contact, current, opted_out=False)
        assert s.sandbox.contact(ben)["dndSettings"]["SMS"]["status"] == "permanent"  # type: ignore[index]


def test_record_sync_links_the_manual_opt_out_to_the_contact(
    book: OptOutBook, ledger: Ledger
) -> None:
    added = book.add(LOC, PHONE, reason="phoned in")
    assert added.audit_id is not None
    book.record_sync(added.audit_id, "set", contact_id="c42")
    assert ledger.opt_out_for(LOC, contact_id="c42") is not None
    [audit] = book.audit(LOC)
    assert (audit.sync, audit.contact_id) == ("set", "c42")
