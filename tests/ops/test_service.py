"""The operations against the in-process sandbox: what reaches GHL, and what does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from ghl_sms._clock import FakeClock, utc_datetime
from ghl_sms.ghl import GhlError, NotFoundError
from ghl_sms.ops._merge import single_send_template
from ghl_sms.ops.errors import (
    IdempotencyConflict,
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    UsageError,
)
from ghl_sms.ops.ledger import SendState
from ghl_sms.ops.service import SendRequest
from support.stack import stack

pytestmark = pytest.mark.anyio


async def test_a_send_to_a_contact_reaches_ghl_once_and_is_recorded() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        result = await s.service.send(SendRequest(contact_id=ava, text="Table for two at 7?"))
        assert result.outcome == "sent" and result.status == "pending"
        assert result.to == "+14155550100" and result.contact_name == "Ava Reed"
        assert s.messages(ava) == [(result.message_id, "Table for two at 7?", "pending")]
        record = s.ledger.by_message_id(result.message_id or "")
        assert record is not None and record.state is SendState.SENT


async def test_sending_again_returns_the_first_result_and_texts_nobody() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        first = await s.service.send(SendRequest(contact_id=ava, text="Hello"))
        again = await s.service.send(SendRequest(contact_id=ava, text="Hello"))
        assert again.outcome == "duplicate" and again.message_id == first.message_id
        assert len(s.messages(ava)) == 1


async def test_the_same_text_under_another_key_is_refused_unless_intended() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        await s.service.send(SendRequest(contact_id=ava, text="Hi", idempotency_key="a"))
        with pytest.raises(RepeatSendError):
            await s.service.send(SendRequest(contact_id=ava, text="Hi", idempotency_key="b"))
        await s.service.send(
            SendRequest(contact_id=ava, text="Hi", idempotency_key="c", allow_repeat=True)
        )
        assert len(s.messages(ava)) == 2


async def test_a_phone_number_ghl_does_not_know_gets_a_contact_then_the_text() -> None:
    async with stack() as s:
        result = await s.service.send(SendRequest(to="(415) 555-0142", text="Welcome!"))
        assert result.outcome == "sent" and result.to == "+14155550142"
        assert result.contact_id is not None
        contact = s.sandbox.contact(result.contact_id)
        assert contact is not None and contact["phone"] == "+14155550142"
        assert len(s.messages(result.contact_id)) == 1


async def test_a_known_number_is_texted_as_its_existing_contact() -> None:
    async with stack() as s:
        result = await s.service.send(SendRequest(to="+14155550100", text="Hi Ava"))
        assert result.contact_id == s.ids("reachable")


@pytest.mark.parametrize(
    ("trait", "code"),
    [("sms_dnd", "sms_dnd"), ("no_phone", "no_phone"), ("invalid", "invalid_phone")],
)
async def test_blocked_contacts_are_not_texted_and_ghl_never_sees_a_send(
    trait: str, code: str
) -> None:
    async with stack() as s:
        contact_id = s.ids(trait)
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=contact_id, text="Hello"))
        assert code in [str(r.code) for r in info.value.reasons]
        assert s.messages(contact_id) == []
        assert s.ledger.recent(s.client.location_id) == []


async def test_an_invalid_number_is_refused_before_any_contact_is_created() -> None:
    async with stack() as s:
        contacts_before = s.sandbox.store.count_contacts()
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(to="+1 000 555 0100", text="Hello"))
        assert s.sandbox.store.count_contacts() == contacts_before


async def test_a_local_opt_out_blocks_before_ghl_has_flipped_dnd() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        s.ledger.record_opt_out(s.client.location_id, phone="+14155550100", source="keyword")
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=ava, text="Promo!"))
        assert [str(r.code) for r in info.value.reasons] == ["opted_out"]
        assert s.messages(ava) == []


async def test_an_mms_goes_out_as_sms_with_attachments() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        result = await s.service.send(
            SendRequest(contact_id=ava, text="Menu", attachments=["https://cdn.example.com/m.jpg"])
        )
        assert result.type == "MMS"
        message = s.sandbox.message(result.message_id or "")
        assert message is not None and message["attachments"] == ["https://cdn.example.com/m.jpg"]


async def test_eleven_attachments_are_blocked() -> None:
    async with stack() as s:
        urls = [f"https://cdn.example.com/{i}.jpg" for i in range(11)]
        with pytest.raises(PreflightBlocked):
            await s.service.send(
                SendRequest(contact_id=s.ids("reachable"), text="x", attachments=urls)
            )


async def test_a_sender_that_is_not_the_locations_is_refused() -> None:
    async with stack() as s:
        with pytest.raises(SenderNotAvailable):
            await s.service.send(
                SendRequest(contact_id=s.ids("reachable"), text="x", from_number="+12025550100")
            )


async def test_a_dry_run_sends_nothing_and_records_nothing() -> None:
    async with stack() as s:
        result = await s.service.send(
            SendRequest(to="+14155550142", text="“Quotes” cost " + "x" * 80, dry_run=True)
        )
        assert result.outcome == "dry_run" and result.encoding == "UCS-2"
        assert "ucs2_replaceable" in [n.code for n in result.notes]
        assert s.ledger.recent(s.client.location_id) == []
        assert s.sandbox.store.count_messages() == 0


async def test_a_scheduled_message_is_tracked_cancelled_and_never_dispatched() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        at = utc_datetime(s.clock) + timedelta(hours=2)
        result = await s.service.send(SendRequest(contact_id=ava, text="Later", scheduled_at=at))
        assert result.outcome == "scheduled" and result.status == "scheduled"
        assert [r.message_id for r in s.service.scheduled()] == [result.message_id]
        cancelled = await s.service.cancel(result.message_id or "")
        assert cancelled.cancelled and s.service.scheduled() == []
        s.sandbox.advance(3 * 3600)
        assert s.messages(ava)[0][2] != "delivered"


async def test_cancelling_after_dispatch_fails_the_way_ghl_does() -> None:
    async with stack() as s:
        at = utc_datetime(s.clock) + timedelta(minutes=5)
        result = await s.service.send(
            SendRequest(contact_id=s.ids("reachable"), text="Soon", scheduled_at=at)
        )
        s.sandbox.advance(600)
        with pytest.raises(NotFoundError):
            await s.service.cancel(result.message_id or "")


async def test_a_schedule_in_the_past_is_a_usage_error() -> None:
    async with stack() as s:
        with pytest.raises(UsageError):
            await s.service.send(
                SendRequest(
                    contact_id=s.ids("reachable"),
                    text="x",
                    scheduled_at=utc_datetime(s.clock) - timedelta(minutes=1),
                )
            )


@pytest.mark.parametrize("fault", ["drop", "hang", "500_after"])
async def test_a_send_whose_answer_is_lost_is_found_and_adopted_not_resent(fault: str) -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        s.sandbox.inject_fault(fault, path="/conversations/messages", method="POST")  # type: ignore[arg-type]
        result = await s.service.send(SendRequest(contact_id=ava, text="Exactly once"))
        assert result.outcome == "sent" and result.adopted
        assert [m[0] for m in s.messages(ava)] == [result.message_id]
        retried = await s.service.send(SendRequest(contact_id=ava, text="Exactly once"))
        assert retried.outcome == "duplicate"
        assert len(s.messages(ava)) == 1


async def test_a_send_refused_with_500_before_processing_is_sent_once_after_reconciling() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        s.sandbox.inject_fault("500", path="/conversations/messages", method="POST")
        result = await s.service.send(SendRequest(contact_id=ava, text="Second try"))
        assert result.outcome == "sent" and not result.adopted
        assert len(s.messages(ava)) == 1


async def test_a_crash_before_the_request_left_is_reconciled_and_sent_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    clock = FakeClock(1_772_647_200.0)
    async with stack(ledger_path=path, clock=clock) as first:
        ava = first.ids("reachable")
        key = "crash-1"
        first.ledger.claim(
            idempotency_key=key, key_origin="caller", location_id=first.client.location_id,
            contact_id=ava, to_number="+14155550100", text="After the crash",
        )  # fmt: skip
        sandbox = first.sandbox
    clock.advance(300)  # the dead process's lease runs out
    async with stack(ledger_path=path, clock=clock, sandbox=sandbox) as second:
        result = await second.service.send(
            SendRequest(contact_id=ava, text="After the crash", idempotency_key=key)
        )
        assert result.outcome == "sent" and not result.adopted
        assert len(second.messages(ava)) == 1


async def test_a_crash_after_the_request_left_is_adopted_on_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    clock = FakeClock(1_772_647_200.0)
    async with stack(ledger_path=path, clock=clock) as first:
        ava = first.ids("reachable")
        first.ledger.claim(
            idempotency_key="k", key_origin="caller", location_id=first.client.location_id,
            contact_id=ava, to_number="+14155550100", text="It went out",
        )  # fmt: skip
        await first.client.send_message(contact_id=ava, message="It went out")
        sandbox = first.sandbox  # ... and the process died before recording the answer
    clock.advance(300)
    async with stack(ledger_path=path, clock=clock, sandbox=sandbox) as second:
        settled = await second.service.reconcile_in_doubt()
        assert [r.state for r in settled] == [SendState.SENT]
        again = await second.service.send(
            SendRequest(contact_id=ava, text="It went out", idempotency_key="k")
        )
        assert again.outcome == "duplicate"
        assert len(second.messages(ava)) == 1


async def test_a_delivery_failure_is_explained_with_what_to_do() -> None:
    async with stack() as s:
        sent = await s.service.send(SendRequest(contact_id=s.ids("landline"), text="Hi"))
        s.sandbox.advance(30)
        status = await s.service.status(sent.message_id or "")
        assert (status.status, status.error_code, status.final) == ("undelivered", "30006", True)
        assert status.explanation and "Landline" in status.explanation
        assert status.advice
        record = s.ledger.by_message_id(sent.message_id or "")
        assert record is not None and record.error_code == "30006"


async def test_thread_and_inbox_show_a_reply_with_its_unread_count() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        await s.service.send(SendRequest(contact_id=ava, text="Are you coming?"))
        s.clock.advance(60)
        await s.sandbox.reply(ava, "Yes, at 7")
        page = await s.service.thread(to="+14155550100")
        assert [(m.direction, m.body) for m in page.messages] == [
            ("outbound", "Are you coming?"),
            ("inbound", "Yes, at 7"),
        ]
        assert page.unread_count == 1
        inbox = await s.service.inbox(unread_only=True)
        assert [(c.contact_id, c.unread_count) for c in inbox.conversations] == [(ava, 1)]


async def test_a_reply_into_a_conversation_lands_in_the_same_thread() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        first = await s.service.send(SendRequest(contact_id=ava, text="One"))
        second = await s.service.send(
            SendRequest(conversation_id=first.conversation_id, text="Two")
        )
        assert second.conversation_id == first.conversation_id
        assert second.contact_id == ava


async def test_thread_pages_to_older_messages_with_the_cursor() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        for i in range(5):
            await s.service.send(SendRequest(contact_id=ava, text=f"Message {i}"))
            s.clock.advance(1)
        page = await s.service.thread(contact_id=ava, limit=3)
        assert [m.body for m in page.messages] == ["Message 2", "Message 3", "Message 4"]
        older = await s.service.thread(contact_id=ava, limit=3, cursor=page.next_cursor)
        assert [m.body for m in older.messages] == ["Message 0", "Message 1"]
        assert older.next_cursor is None


async def test_check_says_who_can_be_texted_without_creating_anything() -> None:
    async with stack() as s:
        ok = await s.service.check(contact_id=s.ids("reachable"))
        assert ok.verdict in ("ok", "warn") and not ok.sms_dnd
        dnd = await s.service.check(contact_id=s.ids("sms_dnd"))
        assert dnd.verdict == "blocked" and dnd.sms_dnd
        before = s.sandbox.store.count_contacts()
        unknown = await s.service.check(to="+14155550142", text="Hi")
        assert unknown.contact_id is None and unknown.segments == 1
        assert s.sandbox.store.count_contacts() == before


async def test_unknown_ids_are_reported_as_not_found() -> None:
    async with stack() as s:
        with pytest.raises(RecipientNotFound):
            await s.service.send(SendRequest(contact_id="nope", text="x"))
        with pytest.raises(RecipientNotFound):
            await s.service.thread(conversation_id="nope")


async def test_numbers_list_capabilities_and_the_default() -> None:
    async with stack() as s:
        numbers = await s.service.numbers()
        assert [(n.phone_number, n.is_default) for n in numbers] == [
            ("+14155550190", True),
            ("+14155550191", False),
        ]


async def test_a_carrier_opt_out_seen_in_a_status_blocks_the_next_send() -> None:
    async with stack() as s:
        gina = s.ids("opted_out")  # GHL shows no DND, but the carrier answers 21610
        sent = await s.service.send(SendRequest(contact_id=gina, text="Hello Gina"))
        s.sandbox.advance(30)
        status = await s.service.status(sent.message_id or "")
        assert (status.status, status.error_code) == ("failed", "21610")
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=gina, text="Hello again"))
        assert [str(r.code) for r in info.value.reasons] == ["opted_out"]
        assert len(s.messages(gina)) == 1


class CountingTransport(httpx2.AsyncBaseTransport):
    """Counts the requests that reach the sandbox."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)


async def test_a_stop_seen_locally_blocks_the_next_send_before_any_api_call() -> None:
    async with stack() as s:
        counting = CountingTransport(s.sandbox.transport())
        s.client._http._transport = counting  # the same client, now counting its requests
        ava = s.ids("reachable")
        # As the webhook receiver records a STOP: the contact and the number it came from.
        s.ledger.record_opt_out(
            s.client.location_id, contact_id=ava, phone="+14155550100", source="keyword"
        )
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=ava, text="Promo"))
        assert [str(r.code) for r in info.value.reasons] == ["opted_out"]
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(to="+1 (415) 555-0100", text="Promo"))
        s.ledger.record_opt_out(s.client.location_id, phone="+14155550142", source="keyword")
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(to="+14155550142", text="Promo"))
        assert counting.requests == []


async def test_a_final_status_recorded_by_webhook_is_known_without_asking_ghl() -> None:
    async with stack() as s:
        sent = await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Hi"))
        message_id = sent.message_id or ""
        s.service.events.record_status(
            message_id, "undelivered", at=s.clock.now(), error_code="30003"
        )
        counting = CountingTransport(s.sandbox.transport())
        s.client._http._transport = counting
        known = await s.service.status(message_id)
        assert (known.status, known.error_code, known.known_from) == (
            "undelivered",
            "30003",
            "webhook",
        )
        assert known.advice and counting.requests == []
        fresh = await s.service.status(message_id, refresh=True)
        assert fresh.known_from == "ghl" and counting.requests


async def test_a_status_webhook_that_beats_the_send_answer_is_kept() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        # The sandbox numbers messages predictably; the receiver saw "delivered" first.
        probe = await s.client.send_message(contact_id=s.ids("email_dnd"), message="probe")
        s.sandbox.reset()
        s.service.events.record_status(probe.message_id, "delivered", at=s.clock.now())
        sent = await s.service.send(SendRequest(contact_id=ava, text="Fast carrier"))
        assert sent.message_id == probe.message_id
        assert sent.status == "delivered"
        record = s.ledger.by_message_id(probe.message_id)
        assert record is not None and record.status == "delivered"


async def test_allow_repeat_sends_the_same_text_again_on_purpose() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        first = await s.service.send(SendRequest(contact_id=ava, text="Doors open!"))
        again = await s.service.send(
            SendRequest(contact_id=ava, text="Doors open!", allow_repeat=True)
        )
        assert again.outcome == "sent" and again.message_id != first.message_id
        assert len(s.messages(ava)) == 2
        retried = await s.service.send(SendRequest(contact_id=ava, text="Doors open!"))
        assert retried.outcome == "duplicate" and retried.message_id == again.message_id


@pytest.mark.parametrize(
    ("recipient", "kinds"),
    [
        ({"to": "+14155550142"}, ("a phone number (+14155550142)", "a contact id")),
        ({"conversation_id": "conv-1"}, ("a contact id", "a conversation id (conv-1)")),
    ],
)
async def test_two_recipients_are_refused_naming_both_and_nothing_is_sent(
    recipient: dict[str, str], kinds: tuple[str, str]
) -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        with pytest.raises(UsageError) as info:
            await s.service.send(SendRequest(contact_id=ava, text="Hi", **recipient))
        message = str(info.value)
        assert all(kind in message for kind in kinds) and "not both" in message
        assert s.messages(ava) == [] and s.ledger.recent(s.client.location_id) == []
        with pytest.raises(UsageError, match="not both"):
            await s.service.check(contact_id=ava, to="+14155550142")
        with pytest.raises(UsageError, match="not both"):
            await s.service.thread(contact_id=ava, **recipient)


async def test_a_send_by_contact_reports_and_preflights_the_contacts_own_number() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        result = await s.service.send(SendRequest(contact_id=ava, text="Hi Ava", dry_run=True))
        assert result.to == "+14155550100"
        sent = await s.service.send(SendRequest(contact_id=ava, text="Hi Ava"))
        assert sent.to == s.sandbox.contact(ava)["phone"]  # type: ignore[index]


async def test_a_number_whose_contact_is_texted_elsewhere_is_refused() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        # GHL's duplicate search finds Ava for a number that is not her own phone.
        real = s.client.find_contact_by_phone

        async def found_elsewhere(phone: str):  # type: ignore[no-untyped-def]
            return await real("+14155550100") if phone == "+14155550142" else await real(phone)

        s.client.find_contact_by_phone = found_elsewhere  # type: ignore[method-assign]
        with pytest.raises(UsageError, match=r"\+14155550142 belongs to contact"):
            await s.service.send(SendRequest(to="+14155550142", text="Hi"))
        assert s.messages(ava) == []


# Wednesday 2026-03-04 06:00 UTC: 22:00 on Tuesday in San Francisco (Ava's area code).
SF_LATE_EVENING = datetime(2026, 3, 4, 6, 0, tzinfo=UTC).timestamp()


async def test_a_marketing_send_in_quiet_hours_is_refused_with_the_next_time_and_the_ways_out() -> (
    None
):
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        ava = s.ids("reachable")
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=ava, text="20% off today!"))
        message = str(info.value)
        # 08:00 in San Francisco, in the recipient's offset and in UTC.
        assert "2026-03-04T08:00:00-08:00" in message and "2026-03-04T16:00:00Z" in message
        assert "--at 2026-03-04T16:00:00Z" in message and "transactional" in message
        assert [(str(r.code), r.level) for r in info.value.reasons] == [("quiet_hours", "blocked")]
        assert info.value.verdict.next_allowed_at == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
        assert s.messages(ava) == [] and s.ledger.recent(s.client.location_id) == []


async def test_a_dry_run_in_quiet_hours_says_it_would_be_refused() -> None:
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        with pytest.raises(PreflightBlocked):
            await s.service.send(
                SendRequest(contact_id=s.ids("reachable"), text="Sale!", dry_run=True)
            )


async def test_a_new_number_in_quiet_hours_is_refused_before_its_contact_is_created() -> None:
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        before = s.sandbox.store.count_contacts()
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(to="+14155550142", text="Sale!"))
        assert s.sandbox.store.count_contacts() == before


async def test_transactional_and_deliberate_sends_go_out_in_quiet_hours() -> None:
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        ava = s.ids("reachable")
        code = await s.service.send(
            SendRequest(contact_id=ava, text="Your code is 1234", transactional=True)
        )
        assert code.outcome == "sent" and "quiet_hours" not in [n.code for n in code.notes]
        forced = await s.service.send(
            SendRequest(contact_id=ava, text="Doors open now!", ignore_quiet_hours=True)
        )
        assert forced.outcome == "sent" and forced.verdict == "warn"
        quiet = [n for n in forced.notes if n.code == "quiet_hours"]
        assert len(quiet) == 1 and quiet[0].level == "warn" and "on purpose" in quiet[0].message
        assert len(s.messages(ava)) == 2


async def test_a_schedule_that_falls_in_quiet_hours_is_refused_and_one_outside_is_not() -> None:
    async with stack() as s:  # noon in New York, 10:00 in San Francisco
        ava = s.ids("reachable")
        at_night = utc_datetime(s.clock) + timedelta(hours=12)  # 22:00 in San Francisco
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(SendRequest(contact_id=ava, text="Sale!", scheduled_at=at_night))
        assert "At the scheduled time" in str(info.value)
        assert "2026-03-05T16:00:00Z" in str(info.value)
        in_hours = utc_datetime(s.clock) + timedelta(hours=2)
        result = await s.service.send(
            SendRequest(contact_id=ava, text="Sale!", scheduled_at=in_hours)
        )
        assert result.outcome == "scheduled"


async def test_a_caller_that_defers_gets_the_quiet_hours_as_not_now() -> None:
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(
                SendRequest(contact_id=s.ids("reachable"), text="Sale!", block_quiet_hours=True)
            )
        verdict = info.value.verdict
        assert info.value.reasons == [] and not verdict.blocked
        assert [str(r.code) for r in verdict.reasons if r.code == "quiet_hours"] == ["quiet_hours"]
        assert "outside the allowed hours" in str(info.value)
        assert verdict.next_allowed_at == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)


async def test_check_reports_the_quiet_hours_state() -> None:
    async with stack(clock=FakeClock(SF_LATE_EVENING)) as s:
        result = await s.service.check(contact_id=s.ids("reachable"), text="Sale!")
        assert result.local_time_ok is False
        assert result.next_allowed_at == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
        assert "quiet_hours" in [n.code for n in result.notes]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"text": "Table for three at 8?"}, "the text differs"),
        ({"attachments": ("https://cdn.example.com/m.jpg",)}, "the attachments differ"),
        ({"to": "+14155550142", "contact_id": None}, "the recipient differs: +14155550142 vs"),
        ({"from_number": "+14155550191"}, "the sender differs: +14155550191 vs the default"),
        ({"scheduled_at": "in 2h"}, "the schedule differs: 2026-03-04T20:00:00Z vs now"),
    ],
)
async def test_a_key_reused_for_another_send_is_a_conflict_naming_what_differs(
    change: dict[str, object], named: str
) -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        first = SendRequest(contact_id=ava, text="Table for two at 7?", idempotency_key="k1")
        sent = await s.service.send(first)
        if change.get("scheduled_at"):
            change = {"scheduled_at": utc_datetime(s.clock) + timedelta(hours=2)}
        with pytest.raises(IdempotencyConflict) as info:
            await s.service.send(replace(first, **change))  # type: ignore[arg-type]
        message = str(info.value)
        assert named in message and "'k1'" in message and "new key" in message
        assert "Table for" not in message  # what differs, not the texts themselves
        assert sent.message_id in message
        assert [m[0] for m in s.messages(ava)] == [sent.message_id]
        again = await s.service.send(first)
        assert again.outcome == "duplicate" and again.message_id == sent.message_id


async def test_the_same_key_for_the_same_person_by_number_or_by_contact_is_the_same_send() -> None:
    async with stack() as s:
        first = await s.service.send(
            SendRequest(to="(415) 555-0100", text="Hi", idempotency_key="k2")
        )
        by_contact = await s.service.send(
            SendRequest(contact_id=s.ids("reachable"), text="Hi", idempotency_key="k2")
        )
        by_number = await s.service.send(
            SendRequest(to="+14155550100", text="Hi", idempotency_key="k2")
        )
        assert by_contact.outcome == by_number.outcome == "duplicate"
        assert by_contact.message_id == by_number.message_id == first.message_id


async def test_a_key_whose_first_send_failed_is_still_bound_to_its_request() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        s.sandbox.inject_fault("500", count=10, path="/conversations/messages", method="POST")
        with pytest.raises(GhlError):
            await s.service.send(SendRequest(contact_id=ava, text="One", idempotency_key="k3"))
        s.sandbox.clear_faults()
        with pytest.raises(IdempotencyConflict, match="the text differs"):
            await s.service.send(SendRequest(contact_id=ava, text="Two", idempotency_key="k3"))
        retried = await s.service.send(
            SendRequest(contact_id=ava, text="One", idempotency_key="k3")
        )
        assert retried.outcome == "sent" and [m[1] for m in s.messages(ava)] == ["One"]


@pytest.mark.parametrize(
    "text", ["Hi {{contact.first_name}}, table ready", "Hi {first_name|there}, table ready"]
)
async def test_a_single_send_fills_merge_fields_from_the_contact(text: str) -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        result = await s.service.send(SendRequest(contact_id=ava, text=text))
        assert result.text == "Hi Ava, table ready"
        assert [m[1] for m in s.messages(ava)] == ["Hi Ava, table ready"]
        retried = await s.service.send(SendRequest(contact_id=ava, text=text))
        assert retried.outcome == "duplicate" and len(s.messages(ava)) == 1


async def test_an_unfilled_placeholder_blocks_a_single_send_and_never_reaches_the_phone() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        with pytest.raises(PreflightBlocked) as info:
            await s.service.send(
                SendRequest(contact_id=ava, text="See you {{contact.appointment_date}}")
            )
        assert [str(r.code) for r in info.value.reasons] == ["merge_fields"]
        assert "{{contact.appointment_date}}" in str(info.value) and "fallback" in str(info.value)
        assert s.messages(ava) == []
        created = s.sandbox.store.count_contacts()
        with pytest.raises(PreflightBlocked):  # a new number has no name: not created either
            await s.service.send(SendRequest(to="+14155550142", text="Hi {first_name}"))
        assert s.sandbox.store.count_contacts() == created


async def test_a_fallback_that_was_used_is_a_warning_showing_what_is_sent() -> None:
    async with stack() as s:
        result = await s.service.send(
            SendRequest(to="+14155550142", text="Hi {{contact.first_name|there}}", dry_run=True)
        )
        assert result.text == "Hi there" and result.verdict == "warn"
        assert "merge_fallback" in [n.code for n in result.notes]


async def test_plain_text_with_stray_braces_goes_out_as_written() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        result = await s.service.send(SendRequest(contact_id=ava, text='Hi :} {"ok": 1} {{x}}'))
        assert s.messages(ava)[0][1] == 'Hi :} {"ok": 1} {{x}}' == result.text


async def test_a_malformed_template_is_a_usage_error_before_any_request() -> None:
    async with stack() as s:
        counting = CountingTransport(s.sandbox.transport())
        s.client._http._transport = counting
        with pytest.raises(UsageError, match="Unclosed"):
            await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Hi {first_name"))
        assert counting.requests == []


async def test_a_key_reused_with_the_same_template_is_the_same_send_even_if_the_name_changed() -> (
    None
):
    async with stack() as s:
        ava = s.ids("reachable")
        request = SendRequest(contact_id=ava, text="Hi {first_name}", idempotency_key="t1")
        first = await s.service.send(request)
        await s.client.upsert_contact(phone="+14155550100", first_name="Avery")
        assert (await s.client.get_contact(ava)).first_name == "Avery"
        again = await s.service.send(request)
        assert again.outcome == "duplicate" and again.message_id == first.message_id
        with pytest.raises(IdempotencyConflict, match="the text differs"):
            await s.service.send(replace(request, text="Hello {first_name}"))


@pytest.mark.parametrize(
    ("text", "is_template"),
    [
        ("Hi {first_name}", True),
        ("Hi {{ Contact.first_name }}", True),
        ("Use {{SAVE10}} now, {first_name|friend}", True),
        ("Hi :} and { } and 1{2}", False),
        ('{"json": true}', False),
        ("{{code}} alone", False),
    ],
)
def test_which_single_send_texts_are_templates(text: str, is_template: bool) -> None:
    assert (single_send_template(text) is not None) is is_template


@pytest.mark.parametrize("text", ["Hi {first_name", "Hi {first_name} }", "{first name!}"])
def test_a_text_meant_as_a_template_but_malformed_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="merge fields are malformed"):
        single_send_template(text)
