"""The read tools in both protocol modes: status, thread, inbox, check, numbers, preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from ghl_sms._clock import FakeClock

AVA = "sbxCtReachable000001"
BEN = "sbxCtSmsDnd000000001"
EVE = "sbxCtLandline0000001"  # undelivered 30006
MODES = ["auto", "legacy"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_status_follows_a_message_to_delivered(connect: Any, mode: str) -> None:
    async with connect(mode=mode, confirm=False) as s:
        sent = await s.ok("sms_send", text="Hi Ava", contact_id=AVA)
        s.stack.sandbox.advance(5)
        status = await s.ok("sms_status", message_id=sent["message_id"])
        assert status == {
            "message_id": sent["message_id"],
            "status": "delivered",
            "final": True,
            "direction": "outbound",
            "contact_id": AVA,
            "body": "Hi Ava",
            "date": status["date"],
        }


@pytest.mark.anyio
async def test_status_of_a_failed_message_explains_it_and_says_what_to_do(connect: Any) -> None:
    async with connect(confirm=False) as s:
        sent = await s.ok("sms_send", text="Hello", contact_id=EVE, transactional=True)
        s.stack.sandbox.advance(10)
        status = await s.ok("sms_status", message_id=sent["message_id"])
        assert (status["status"], status["error_code"], status["final"]) == (
            "undelivered",
            "30006",
            True,
        )
        assert "landline" in status["explanation"].lower() and status["advice"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_thread_pages_to_older_messages_each_seen_once(connect: Any, mode: str) -> None:
    async with connect(mode=mode, confirm=False) as s:
        for n in range(5):
            await s.ok("sms_send", text=f"Message {n}", contact_id=AVA)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            args: dict[str, Any] = {"contact_id": AVA, "limit": 2}
            if cursor:
                args["cursor"] = cursor
            page = await s.ok("sms_thread", **args)
            pages += 1
            assert page["contact_name"] == "Ava Reed" and len(page["messages"]) <= 2
            seen = [m["body"] for m in page["messages"]] + seen  # each page: oldest first
            cursor = page.get("next_cursor")
            if cursor is None:
                break
        assert pages == 3
        assert seen == [f"Message {n}" for n in range(5)]


@pytest.mark.anyio
async def test_long_bodies_are_cut_in_a_thread_and_whole_in_status(connect: Any) -> None:
    async with connect(confirm=False) as s:
        text = "word " * 200  # 1,000 characters
        sent = await s.ok("sms_send", text=text, contact_id=AVA)
        body = (await s.ok("sms_thread", contact_id=AVA))["messages"][0]["body"]
        assert (
            body == text[:300] + f"... [700 more chars; sms_status('{sent['message_id']}') has all]"
        )
        assert (await s.ok("sms_status", message_id=sent["message_id"]))["body"] == text


@pytest.mark.anyio
async def test_limits_above_50_are_refused_with_the_bound(connect: Any) -> None:
    async with connect() as s:
        text = await s.error("sms_inbox", limit=500)
        assert text == (
            "Error executing tool sms_inbox: limit must be at most 50 (got 500). "
            "Fix it and call sms_inbox again; nothing was done."
        )


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_the_inbox_pages_newest_first_and_filters_unread(connect: Any, mode: str) -> None:
    async with connect(mode=mode, confirm=False) as s:
        for contact in (AVA, EVE, "sbxCtFlorida00000001"):
            await s.ok("sms_send", text="Hello", contact_id=contact, transactional=True)
            s.stack.clock.advance(60)
        await s.stack.sandbox.reply(AVA, "Thanks! " * 40)
        first = await s.ok("sms_inbox", limit=2)
        assert [c["contact_id"] for c in first["conversations"]] == [AVA, "sbxCtFlorida00000001"]
        latest = first["conversations"][0]
        assert latest["unread"] == 1 and latest["last_direction"] == "inbound"
        assert (
            latest["last_message"].startswith("Thanks! ")
            and "more chars]" in latest["last_message"]
        )
        rest = await s.ok("sms_inbox", limit=2, cursor=first["next_cursor"])
        assert [c["contact_id"] for c in rest["conversations"]] == [EVE]
        assert "next_cursor" not in rest
        unread = await s.ok("sms_inbox", unread_only=True)
        assert [c["contact_id"] for c in unread["conversations"]] == [AVA]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_check_says_who_can_be_texted_and_why_not(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        ok = await s.ok("sms_check", contact_id=AVA, transactional=True)
        assert ok["verdict"] in ("ok", "warn") and ok["sms_dnd"] is False
        blocked = await s.ok("sms_check", contact_id=BEN)
        assert blocked["verdict"] == "blocked" and blocked["sms_dnd"] is True
        assert blocked["notes"][0]["code"] == "sms_dnd"
        nobody = await s.error("sms_check")
        assert "Say who to check" in nobody and "give text to check the text alone" in nobody


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_numbers_lists_the_senders_and_marks_the_default(connect: Any, mode: str) -> None:
    async with connect(mode=mode) as s:
        out = await s.ok("sms_numbers")
        assert out["numbers"][0] == {
            "phone_number": "+14155550190",
            "name": "Front desk",
            "sms": True,
            "mms": True,
            "is_default": True,
        }
        assert [n["is_default"] for n in out["numbers"]] == [True, False]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_text_alone_is_checked_offline_naming_the_characters_forcing_ucs2(
    connect: Any, mode: str
) -> None:
    async with connect(mode=mode) as s:
        out = await s.ok("sms_check", text="a" * 149 + "’")
        assert out == {
            "verdict": "warn",
            "notes": [
                {
                    "code": "ucs2",
                    "level": "warn",
                    "message": "'’' x1 (use \"'\") force Unicode (UCS-2, 70 characters a part, "
                    "not 160); gsm_text replaces them: 1 part(s) instead of 3.",
                }
            ],
            "encoding": "UCS-2",
            "parts": 3,
            "gsm_text": "a" * 149 + "'",
        }
        assert await s.ok("sms_check", text="Hi") == {
            "verdict": "ok",
            "encoding": "GSM-7",
            "parts": 1,
        }
        # With a recipient the same text is checked with them: the fix comes along.
        both = await s.ok("sms_check", contact_id=AVA, text="a" * 149 + "’", transactional=True)
        assert both["parts"] == 3 and both["gsm_text"] == "a" * 149 + "'"
        assert "ucs2_replaceable" in [n["code"] for n in both["notes"]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "choices"),
    [
        ("sms_thread", "contact_id, to_number or conversation_id"),
        ("sms_check", "contact_id or to_number"),
    ],
)
async def test_reads_take_one_recipient_and_name_both_when_given_two(
    connect: Any, tool: str, choices: str
) -> None:
    async with connect() as s:
        text = await s.error(tool, contact_id="sbxCtReachable000001", to_number="+14155550188")
        assert text == (
            f"Error executing tool {tool}: Give one recipient, not 2: "
            "contact_id='sbxCtReachable000001' and to_number='+14155550188'. "
            f"Call again with only the one you mean ({choices})."
        )


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TIME_FIELDS = {"date", "last_date", "scheduled_at", "next_allowed_at"}


def _times(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [t for item in data for t in _times(item)]
    if isinstance(data, dict):
        own = [v for k, v in data.items() if k in TIME_FIELDS]
        return own + [t for v in data.values() for t in _times(v)]
    return []


@pytest.mark.anyio
async def test_every_timestamp_is_iso_8601_utc_to_the_second(connect: Any) -> None:
    clock = FakeClock(datetime(2026, 3, 5, 8, 0, 0, 123456, tzinfo=UTC).timestamp())
    async with connect(confirm=False, clock=clock) as s:
        sent = await s.ok("sms_send", text="Hi", contact_id=AVA, transactional=True)
        later = await s.ok(
            "sms_send", text="Later", contact_id=AVA, send_at="2h", transactional=True
        )
        s.stack.clock.advance(0.654321)
        results = [
            sent,
            later,
            await s.ok("sms_status", message_id=sent["message_id"]),
            await s.ok("sms_thread", contact_id=AVA),
            await s.ok("sms_inbox"),
            await s.ok("sms_check", contact_id=AVA),  # midnight for Ava: next_allowed_at
        ]
    times = _times(results)
    assert len(times) >= 6
    assert all(isinstance(t, str) and ISO_UTC.match(t) for t in times), times


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_cursor_the_server_did_not_give_out_is_refused_saying_what_to_pass(
    connect: Any, mode: str
) -> None:
    async with connect(mode=mode, confirm=False) as s:
        for body in ("One", "Two", "Three"):
            await s.ok("sms_send", text=body, contact_id=AVA)
        thread_cursor = (await s.ok("sms_thread", contact_id=AVA, limit=1))["next_cursor"]
        cases = [
            ("sms_inbox", {}, "nope"),
            ("sms_inbox", {}, "1700000000000"),  # a raw sort value: not ours to parse
            ("sms_thread", {"contact_id": AVA}, "nope"),
            ("sms_inbox", {}, thread_cursor),  # another tool's cursor
        ]
        for tool, arguments, cursor in cases:
            text = await s.error(tool, cursor=cursor, **arguments)
            assert text == (
                f"Error executing tool {tool}: cursor {cursor!r} is not a next_cursor that "
                f"{tool} returned. Pass the previous page's next_cursor unchanged, or leave "
                "cursor out for the first page."
            )
        older = await s.ok("sms_thread", contact_id=AVA, limit=1, cursor=thread_cursor)
        assert [m["body"] for m in older["messages"]] == ["Two"]
