"""ops.history: what was sent, read back from the ledger alone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from ghl_sms.ops.errors import PreflightBlocked, UsageError
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.history import (
    CSV_COLUMNS,
    HistoryEntry,
    HistoryQuery,
    history,
    parse_moment,
    parse_statuses,
    write_csv,
)
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest, ServiceConfig
from support.stack import Stack, stack

pytestmark = pytest.mark.anyio


def _history(s: Stack, **filters: object) -> list[HistoryEntry]:
    query = HistoryQuery(location_id=s.service.location_id, **filters)  # type: ignore[arg-type]
    return history(s.ledger, s.service.events, query)


async def test_a_send_shows_who_what_parts_cost_and_its_final_status() -> None:
    async with stack() as s:
        sent = await s.service.send(
            SendRequest(contact_id=s.ids("reachable"), text="Table for two at 7?")
        )
        s.sandbox.advance(30)
        await s.service.status(sent.message_id or "")  # records "delivered" in the ledger
        [entry] = _history(s)
        assert entry.message_id == sent.message_id
        assert (entry.contact_id, entry.contact_name, entry.to) == (
            s.ids("reachable"),
            "Ava Reed",
            "+14155550100",
        )
        assert (entry.text, entry.type, entry.segments) == ("Table for two at 7?", "SMS", 1)
        assert entry.cost_estimate_usd == pytest.approx(0.0079)
        assert (entry.status, entry.final, entry.explanation) == ("delivered", True, None)
        assert entry.created_at == datetime.fromtimestamp(s.clock.now() - 30, UTC)


async def test_a_delivery_failure_is_explained_from_the_carrier_table() -> None:
    async with stack() as s:
        sent = await s.service.send(SendRequest(contact_id=s.ids("landline"), text="Hi Eve"))
        # The webhook receiver stored it; the ledger itself was not told.
        s.service.events.record_status(
            sent.message_id or "", "undelivered", at=s.clock.now() + 5, error_code="30006"
        )
        [entry] = _history(s)
        assert (entry.status, entry.error_code, entry.final) == ("undelivered", "30006", True)
        assert entry.explanation is not None and "30006" in entry.explanation
        assert entry.explanation.lower().count("landline") >= 1
        assert entry.advice
        assert entry.status_at == datetime.fromtimestamp(s.clock.now() + 5, UTC)


async def test_a_send_ghl_refused_is_not_sent_and_costs_nothing() -> None:
    async with stack() as s:
        ben = s.ids("sms_dnd")
        # The preflight stops this one before GHL; record GHL's refusal as the service would.
        claim = s.ledger.claim(
            idempotency_key="k1",
            key_origin="caller",
            location_id=s.service.location_id,
            contact_id=ben,
            to_number="+14155550102",
            text="Hello",
        )
        s.ledger.mark_failed(
            claim.record.id,
            error_code="400",
            error_message="Cannot send message as DND is active for SMS.",
        )
        [entry] = _history(s)
        assert (entry.status, entry.cost_estimate_usd, entry.message_id) == ("not_sent", 0.0, None)
        assert entry.explanation == "Not sent: Cannot send message as DND is active for SMS."


async def test_filters_narrow_by_number_contact_campaign_status_and_time() -> None:
    async with stack() as s:
        ava, chloe = s.ids("reachable"), s.ids("email_dnd")
        first = await s.service.send(SendRequest(contact_id=ava, text="One"))
        s.clock.advance(3600)
        await s.service.send(SendRequest(contact_id=chloe, text="Two"))
        s.clock.advance(3600)
        await s.service.send(SendRequest(to="+14155550100", text="Three", campaign_id="cmp_x"))
        s.ledger.mark_cancelled(first.message_id or "")

        assert [e.text for e in _history(s)] == ["Three", "Two", "One"]  # newest first
        assert [e.text for e in _history(s, to="(415) 555-0100")] == ["Three", "One"]
        assert [e.text for e in _history(s, contact_id=chloe)] == ["Two"]
        assert [e.text for e in _history(s, campaign_id="cmp_x")] == ["Three"]
        assert [e.text for e in _history(s, statuses=frozenset({"cancelled"}))] == ["One"]
        now = datetime.fromtimestamp(s.clock.now(), UTC)
        assert [e.text for e in _history(s, since=now - timedelta(minutes=90))] == [
            "Three",
            "Two",
        ]
        assert [e.text for e in _history(s, until=now - timedelta(minutes=30))] == ["Two", "One"]
        assert [e.text for e in _history(s, limit=2)] == ["Three", "Two"]
        assert [e.text for e in _history(s, limit=None)] == ["Three", "Two", "One"]


async def test_other_locations_sends_are_not_listed() -> None:
    async with stack() as s:
        await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Mine"))
        query = HistoryQuery(location_id="someOtherLocation")
        assert history(s.ledger, s.service.events, query) == []


async def test_an_mms_costs_the_mms_price_from_the_config() -> None:
    async with stack(config=ServiceConfig(mms_price=0.05)) as s:
        await s.service.send(
            SendRequest(
                contact_id=s.ids("reachable"),
                text="Menu",
                attachments=["https://example.com/menu.jpg"],
            )
        )
        query = HistoryQuery(location_id=s.service.location_id)
        [entry] = history(s.ledger, s.service.events, query, config=ServiceConfig(mms_price=0.05))
        assert (entry.type, entry.cost_estimate_usd) == ("MMS", 0.05)
        assert entry.attachments == ["https://example.com/menu.jpg"]


async def test_a_refused_send_leaves_no_history() -> None:
    async with stack() as s:
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(contact_id=s.ids("sms_dnd"), text="Hi Ben"))
        assert _history(s) == []


async def test_bad_queries_are_usage_errors() -> None:
    async with stack() as s:
        with pytest.raises(UsageError, match="not a valid phone number"):
            _history(s, to="12")
        now = datetime.fromtimestamp(s.clock.now(), UTC)
        with pytest.raises(UsageError, match="before it starts"):
            _history(s, since=now, until=now - timedelta(days=1))
        with pytest.raises(UsageError, match="limit"):
            _history(s, limit=0)


def test_moments_are_durations_ago_or_iso_times_with_an_offset() -> None:
    now = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
    assert parse_moment("2d", now) == now - timedelta(days=2)
    assert parse_moment("1d2h", now) == now - timedelta(hours=26)
    assert parse_moment("3h ago", now) == now - timedelta(hours=3)
    assert parse_moment("2026-03-01T09:30:00-05:00", now) == datetime(
        2026, 3, 1, 14, 30, tzinfo=UTC
    )
    assert parse_moment("2026-03-01T00:00:00Z", now) == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match="no UTC offset"):
        parse_moment("2026-03-01T09:30", now)
    with pytest.raises(UsageError, match="is not a time"):
        parse_moment("yesterday", now)
    with pytest.raises(UsageError, match="too long ago"):
        parse_moment("99999999d", now)


def test_statuses_are_checked_and_may_be_comma_separated() -> None:
    assert parse_statuses(["failed,undelivered", "not-sent"]) == {
        "failed",
        "undelivered",
        "not_sent",
    }
    with pytest.raises(UsageError, match="Unknown status 'bounced'"):
        parse_statuses(["bounced"])


async def test_csv_export_has_the_columns_and_neutralises_formulas() -> None:
    async with stack() as s:
        sent = await s.service.send(
            SendRequest(contact_id=s.ids("reachable"), text='=HYPERLINK("x")')
        )
        out = io.StringIO()
        assert write_csv(_history(s), out) == 1
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert tuple(rows[0]) == CSV_COLUMNS
        row = rows[0]
        assert row["message_id"] == sent.message_id
        assert row["text"] == '\'=HYPERLINK("x")'
        assert (row["to"], row["contact_name"], row["status"]) == (
            "+14155550100",
            "Ava Reed",
            "pending",
        )
        assert row["created_at"] == "2026-03-04T18:00:00Z"


def test_a_ledger_from_before_names_were_kept_reads_without_them() -> None:
    from ghl_sms._clock import FakeClock

    ledger = Ledger.open(":memory:", FakeClock(0))
    claim = ledger.claim(
        idempotency_key="old",
        key_origin="caller",
        location_id="loc",
        contact_id="c1",
        to_number="+14155550100",
        text="Hi",
    )
    ledger.mark_sent(claim.record.id, message_id="m1", conversation_id=None, status="sent")
    [entry] = history(ledger, EventLog(ledger.db, FakeClock(0)), HistoryQuery(location_id="loc"))
    assert (entry.contact_name, entry.status, entry.message_id) == (None, "sent", "m1")
