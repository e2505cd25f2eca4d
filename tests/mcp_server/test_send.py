"""sms_send through a real MCP client: confirmation, dry run, blocks, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_sms._clock import FakeClock

AVA = "sbxCtReachable000001"
BEN = "sbxCtSmsDnd000000001"  # SMS DND on

MODES = ["auto", "legacy"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_send_is_confirmed_by_the_user_with_a_preview_then_goes_out(
    connect: Any, mode: str, user: Any
) -> None:
    async with connect(mode=mode, user=user) as s:
        out = await s.ok("sms_send", text="Your table is ready", contact_id=AVA)
        assert out["outcome"] == "sent" and out["contact_name"] == "Ava Reed"
        assert s.sent(AVA) == [(out["message_id"], "Your table is ready", "pending")]
    assert len(user.asked) == 1
    question = user.asked[0]
    for shown in ("Ava Reed", "+14155550100", '"Your table is ready"', "1 part", "$0.0079"):
        assert shown in question


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("action", "send"), [("decline", True), ("cancel", True), ("accept", False)]
)
async def test_a_send_the_user_does_not_approve_texts_nobody(
    connect: Any, mode: str, user: Any, action: str, send: bool
) -> None:
    user.action, user.send = action, send
    async with connect(mode=mode, user=user) as s:
        text = await s.error("sms_send", text="Promo", contact_id=AVA)
        assert "did not approve: nothing was sent" in text
        assert s.sent(AVA) == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_without_elicitation_the_send_is_refused_with_a_preview_until_confirmed(
    connect: Any, mode: str
) -> None:
    async with connect(mode=mode) as s:
        text = await s.error("sms_send", text="See you at 5", contact_id=AVA)
        assert "Not sent yet" in text and "confirmed=true" in text
        assert "Ava Reed (+14155550100)" in text and '"See you at 5"' in text
        assert s.sent(AVA) == []
        out = await s.ok("sms_send", text="See you at 5", contact_id=AVA, confirmed=True)
        assert out["outcome"] == "sent"
        assert len(s.sent(AVA)) == 1


@pytest.mark.anyio
async def test_a_client_with_elicitation_asks_the_user_even_when_the_model_says_confirmed(
    connect: Any, user: Any
) -> None:
    user.action = "decline"
    async with connect(user=user) as s:
        await s.error("sms_send", text="Hi", contact_id=AVA, confirmed=True)
        assert len(user.asked) == 1 and s.sent(AVA) == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_dry_run_previews_without_asking_or_sending(
    connect: Any, mode: str, user: Any
) -> None:
    async with connect(mode=mode, user=user) as s:
        text = "It’s ready, " + "see you soon! " * 5  # the curly quote makes it UCS-2
        out = await s.ok("sms_send", text=text, to_number="+14155550100", dry_run=True)
        assert out["outcome"] == "dry_run" and "nothing was sent" in out["summary"]
        assert out["contact_name"] == "Ava Reed" and out["parts"] == 2
        assert any("force Unicode" in w for w in out["warnings"])
        assert "message_id" not in out  # absent, not null
        assert s.sent(AVA) == [] and user.asked == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_blocked_send_is_refused_with_reasons_and_never_asks(
    connect: Any, mode: str, user: Any
) -> None:
    async with connect(mode=mode, user=user) as s:
        text = await s.error("sms_send", text="Promo", contact_id=BEN)
        assert text.startswith("Error executing tool sms_send: Not sent: the preflight blocked it.")
        assert "[sms_dnd]" in text and "Do Not Disturb" in text and "don't retry" in text
        assert user.asked == [] and s.sent(BEN) == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_calling_send_twice_texts_once_and_says_duplicate(
    connect: Any, mode: str, user: Any
) -> None:
    async with connect(mode=mode, user=user) as s:
        first = await s.ok("sms_send", text="Once only", contact_id=AVA)
        again = await s.ok("sms_send", text="Once only", contact_id=AVA)
        assert again["outcome"] == "duplicate" and again["message_id"] == first["message_id"]
        assert "nothing was sent again" in again["summary"]
        assert len(s.sent(AVA)) == 1
        assert len(user.asked) == 1  # a repeat needs no approval: it sends nothing


@pytest.mark.anyio
async def test_a_repeat_with_the_same_idempotency_key_is_a_duplicate_whatever_the_text(
    connect: Any,
) -> None:
    async with connect(confirm=False) as s:
        first = await s.ok("sms_send", text="A", contact_id=AVA, idempotency_key="job-1")
        again = await s.ok("sms_send", text="A", contact_id=AVA, idempotency_key="job-1")
        assert (again["outcome"], again["message_id"]) == ("duplicate", first["message_id"])
        assert len(s.sent(AVA)) == 1


@pytest.mark.anyio
async def test_the_same_text_under_a_new_key_is_refused_unless_a_repeat_is_asked_for(
    connect: Any,
) -> None:
    async with connect(confirm=False) as s:
        await s.ok("sms_send", text="Ping", contact_id=AVA, idempotency_key="a")
        text = await s.error("sms_send", text="Ping", contact_id=AVA, idempotency_key="b")
        assert "not sending it again" in text and "allow_repeat=true" in text
        out = await s.ok(
            "sms_send", text="Ping", contact_id=AVA, idempotency_key="b", allow_repeat=True
        )
        assert out["outcome"] == "sent" and len(s.sent(AVA)) == 2


@pytest.mark.anyio
async def test_a_repeat_without_its_own_key_is_refused_so_a_retried_call_texts_once(
    connect: Any,
) -> None:
    async with connect(confirm=False) as s:
        await s.ok("sms_send", text="Ping", contact_id=AVA)
        text = await s.error("sms_send", text="Ping", contact_id=AVA, allow_repeat=True)
        assert "idempotency_key" in text
        assert len(s.sent(AVA)) == 1


@pytest.mark.anyio
async def test_with_confirmation_off_a_send_goes_out_without_asking(
    connect: Any, user: Any
) -> None:
    user.action = "decline"
    async with connect(user=user, confirm=False) as s:
        out = await s.ok("sms_send", text="Automated", contact_id=AVA)
        assert out["outcome"] == "sent" and user.asked == []


@pytest.mark.anyio
async def test_confirmation_off_still_refuses_a_blocked_send(connect: Any) -> None:
    async with connect(confirm=False) as s:
        assert "[sms_dnd]" in await s.error("sms_send", text="Promo", contact_id=BEN)
        assert s.sent(BEN) == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_scheduled_send_can_be_cancelled_once(connect: Any, mode: str, user: Any) -> None:
    async with connect(mode=mode, user=user) as s:
        out = await s.ok("sms_send", text="Reminder", contact_id=AVA, send_at="2h")
        assert out["outcome"] == "scheduled" and out["status"] == "scheduled"
        # "2h" is rounded up to the whole minute, so a retry within it is the same send;
        # the location's shared budget spaces requests, so the clock may have moved on.
        assert out["scheduled_at"] in ("2026-03-04T20:00:00Z", "2026-03-04T20:01:00Z")
        # (With elicitation the call runs twice, so "2h" may be read a minute apart.)
        assert " at 2026-03-04 20:0" in user.asked[0]
        done = await s.ok("sms_cancel", message_id=out["message_id"])
        assert done["cancelled"] is True
        text = await s.error("sms_cancel", message_id=out["message_id"])
        assert f"Message {out['message_id']} is not scheduled" in text


@pytest.mark.anyio
async def test_a_delay_is_rounded_to_the_minute_so_a_quick_repeat_is_a_duplicate(
    connect: Any,
) -> None:
    async with connect(confirm=False) as s:
        first = await s.ok("sms_send", text="Later", contact_id=AVA, send_at="90s")
        s.stack.clock.advance(5)
        again = await s.ok("sms_send", text="Later", contact_id=AVA, send_at="90s")
        assert first["scheduled_at"] == "2026-03-04T18:02:00Z"
        assert again["outcome"] == "duplicate"


@pytest.mark.anyio
async def test_a_bad_schedule_time_says_what_is_accepted(connect: Any) -> None:
    async with connect(confirm=False) as s:
        text = await s.error("sms_send", text="x", contact_id=AVA, send_at="tomorrow-ish")
        assert "Use a duration such as 30m" in text


@pytest.mark.anyio
async def test_a_new_number_gets_a_contact_and_an_mms_goes_out(connect: Any) -> None:
    async with connect(confirm=False) as s:
        out = await s.ok(
            "sms_send",
            text="The menu",
            to_number="+14155550188",
            media_urls=["https://example.com/menu.jpg"],
        )
        assert out["outcome"] == "sent" and out["to_number"] == "+14155550188"
        assert s.stack.sandbox.contact(out["contact_id"]) is not None


@pytest.mark.anyio
async def test_a_send_into_a_conversation_reaches_its_contact(connect: Any) -> None:
    async with connect(confirm=False) as s:
        first = await s.ok("sms_send", text="Hello", contact_id=AVA)
        thread = await s.ok("sms_thread", contact_id=AVA)
        out = await s.ok("sms_send", text="Follow-up", conversation_id=thread["conversation_id"])
        assert out["contact_id"] == AVA and out["message_id"] != first["message_id"]


@pytest.mark.anyio
async def test_a_send_without_a_recipient_says_how_to_name_one(connect: Any) -> None:
    async with connect() as s:
        text = await s.error("sms_send", text="Hi")
        assert "contact_id, to_number or conversation_id" in text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "recipients",
    [
        {"contact_id": AVA, "to_number": "+14155550188"},
        {"to_number": "+14155550188", "conversation_id": "sbxConv0000000000001"},
        {"contact_id": AVA, "to_number": "+14155550188", "conversation_id": "c1"},
    ],
    ids=["contact+number", "number+conversation", "all three"],
)
async def test_two_recipients_are_refused_naming_both_before_any_preview(
    connect: Any, mode: str, user: Any, recipients: dict[str, str]
) -> None:
    async with connect(mode=mode, user=user) as s:
        before = s.outbound_count()
        text = await s.error("sms_send", text="Hi", **recipients)
        both = " and ".join(f"{k}={v!r}" for k, v in recipients.items())
        assert text == (
            f"Error executing tool sms_send: Give one recipient, not {len(recipients)}: {both}. "
            "Call again with only the one you mean (contact_id, to_number or conversation_id). "
            "Nothing was sent."
        )
        assert user.asked == [] and s.outbound_count() == before


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_dry_run_with_two_recipients_is_refused_too(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        text = await s.error(
            "sms_send", text="Hi", contact_id=AVA, to_number="+14155550188", dry_run=True
        )
        assert "Give one recipient, not 2" in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "recipient",
    [{"contact_id": AVA}, {"to_number": "(415) 555-0100"}, {"to_number": "+14155550188"}],
)
async def test_the_result_reports_the_number_actually_texted(
    connect: Any, recipient: dict[str, str]
) -> None:
    async with connect(confirm=False) as s:
        out = await s.ok("sms_send", text="Which number?", **recipient)
        assert out["to_number"] == s.texted(out["message_id"])
        assert out["to_number"].startswith("+1415555")
        # A conversation names its contact, whose number is what gets texted.
        thread = await s.ok("sms_thread", contact_id=out["contact_id"])
        again = await s.ok("sms_send", text="Again", conversation_id=thread["conversation_id"])
        assert again["to_number"] == s.texted(again["message_id"]) == out["to_number"]


# Thursday 2026-03-05 08:00 UTC: midnight in San Francisco, where Ava's number is.
MIDNIGHT_FOR_AVA = datetime(2026, 3, 5, 8, 0, tzinfo=UTC).timestamp()
QUIET_REFUSAL = (
    "Error executing tool sms_send: Not sent: [quiet_hours] For this send it is {local} for "
    "the recipient, outside the hours marketing texts may reach them (08:00-21:00 every day). "
    "The next allowed time is 2026-03-05T16:00:00Z (2026-03-05T08:00:00-08:00 their time). "
    'Call sms_send again with send_at="2026-03-05T16:00:00Z", or, only if this is not '
    "marketing (a reminder, a code, a reply to them), with transactional=true. Only if the "
    "user explicitly wants them texted in their quiet hours: ignore_quiet_hours=true. "
    "Nothing was sent."
)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("when", "local"),
    [({}, "Thu 00:00 PST"), ({"send_at": "2026-03-05T10:00:00Z"}, "Thu 02:00 PST")],
)
async def test_a_marketing_text_in_quiet_hours_is_refused_with_the_next_time_and_two_ways(
    connect: Any, mode: str, user: Any, when: dict[str, str], local: str
) -> None:
    clock = FakeClock(MIDNIGHT_FOR_AVA)
    async with connect(mode=mode, user=user, clock=clock) as s:
        text = await s.error("sms_send", text="Sale today", contact_id=AVA, **when)
        assert text == QUIET_REFUSAL.format(local=local)
        assert user.asked == [] and s.sent(AVA) == []
        # The first way forward, exactly as the refusal spells it.
        out = await s.ok(
            "sms_send", text="Sale today", contact_id=AVA, send_at="2026-03-05T16:00:00Z"
        )
        assert (out["outcome"], out["scheduled_at"]) == ("scheduled", "2026-03-05T16:00:00Z")


@pytest.mark.anyio
async def test_a_transactional_text_goes_out_in_quiet_hours(connect: Any, user: Any) -> None:
    async with connect(user=user, clock=FakeClock(MIDNIGHT_FOR_AVA)) as s:
        out = await s.ok("sms_send", text="Your code is 1234", contact_id=AVA, transactional=True)
        assert out["outcome"] == "sent" and len(s.sent(AVA)) == 1


@pytest.mark.anyio
async def test_ignore_quiet_hours_sends_on_purpose_and_the_user_sees_it(
    connect: Any, user: Any
) -> None:
    async with connect(user=user, clock=FakeClock(MIDNIGHT_FOR_AVA)) as s:
        out = await s.ok("sms_send", text="Sale today", contact_id=AVA, ignore_quiet_hours=True)
        assert out["outcome"] == "sent" and len(s.sent(AVA)) == 1
        assert any("quiet hours on purpose" in w for w in out["warnings"])
    assert "quiet hours on purpose" in user.asked[0]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"text": "B"}, "the text differs"),
        ({"to_number": "+14155550188"}, "the recipient differs: +14155550188 vs +14155550100"),
        ({"send_at": "2026-03-05T16:00:00Z"}, "the schedule differs: 2026-03-05T16:00:00Z vs now"),
    ],
)
async def test_a_key_reused_for_another_send_is_a_conflict_naming_what_differs(
    connect: Any, mode: str, user: Any, change: dict[str, str], difference: str
) -> None:
    async with connect(mode=mode, user=user) as s:
        first = await s.ok("sms_send", text="A", to_number="+14155550100", idempotency_key="k1")
        before = s.outbound_count()
        arguments = {"text": "A", "to_number": "+14155550100", "idempotency_key": "k1", **change}
        text = await s.error("sms_send", **arguments)
        assert text == (
            "Error executing tool sms_send: The idempotency key 'k1' was already used for "
            f"another send (message {first['message_id']}): {difference}. Use a new key for "
            "a new message, or repeat the first request exactly to get its result. "
            "Nothing was sent; a new message needs a new idempotency_key."
        )
        assert s.outbound_count() == before and len(user.asked) == 1  # never asked again
        again = await s.ok("sms_send", text="A", to_number="+14155550100", idempotency_key="k1")
        assert (again["outcome"], again["message_id"]) == ("duplicate", first["message_id"])
