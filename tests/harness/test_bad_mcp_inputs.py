"""Issue 12's bad inputs over MCP, one row each: an error the model can act on, naming the
argument to change (or, for the rows that must succeed, the text as sent)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from ghl_sms._clock import FakeClock
from support.fuzz import raw_python_text
from support.fuzz_mcp import Answer, error_text, outbound, session
from support.fuzz_values import fixture_files
from support.stack import WEEKDAY_NOON

AVA, AVA_PHONE, BEN = "sbxCtReachable000001", "+14155550100", "sbxCtSmsDnd000000001"
NIGHT = datetime(2026, 3, 5, 6, 0, tzinfo=UTC).timestamp()  # 22:00 in San Francisco
OK = "ok"


@dataclass(frozen=True)
class McpRow:
    tool: str
    arguments: dict[str, Any]
    names: tuple[str, ...] = ()
    """The error names these (the argument to change); with ``expect=OK``, the sent text."""
    expect: str = "error"
    before: tuple[tuple[str, dict[str, Any]], ...] = ()
    at: float = WEEKDAY_NOON
    sent: tuple[str, ...] | None = None
    """Bodies the sandbox holds afterwards (None: not checked)."""
    answer: Answer = "legacy"


def send(**arguments: Any) -> tuple[str, dict[str, Any]]:
    return "sms_send", {"confirmed": True, **arguments}


ROWS: dict[str, McpRow] = {
    "2-send-contact-and-number": McpRow(
        "sms_send",
        {"text": "Hi", "contact_id": BEN, "to_number": AVA_PHONE, "confirmed": True},
        ("contact_id", "to_number"),
        sent=(),
    ),
    "2-check-contact-and-number": McpRow(
        "sms_check", {"contact_id": BEN, "to_number": AVA_PHONE}, ("contact_id", "to_number")
    ),
    "2-thread-contact-and-conversation": McpRow(
        "sms_thread",
        {"contact_id": AVA, "conversation_id": "nope"},
        ("contact_id", "conversation_id"),
    ),  # fmt: skip
    "5-send-at-overflow": McpRow(
        "sms_send",
        {"text": "Hi", "contact_id": AVA, "send_at": "9999999d", "confirmed": True},
        ("send_at",),
        sent=(),
    ),  # fmt: skip
    "7-quiet-hours-refused": McpRow(
        "sms_send",
        {"text": "Spring sale!", "contact_id": AVA, "confirmed": True},
        ("send_at", "transactional"),
        at=NIGHT,
        sent=(),
    ),  # fmt: skip
    "7-quiet-hours-transactional": McpRow(
        "sms_send",
        {"text": "Your code is 1234", "contact_id": AVA, "transactional": True, "confirmed": True},
        expect=OK,
        at=NIGHT,
        sent=("Your code is 1234",),
    ),  # fmt: skip
    "8-key-reused-other-text": McpRow(
        "sms_send",
        {"text": "Second", "contact_id": AVA, "idempotency_key": "k1", "confirmed": True},
        ("'k1'", "text"),
        before=(send(text="First", contact_id=AVA, idempotency_key="k1"),),
        sent=("First",),
    ),
    "9-ghl-merge-single-send": McpRow(
        "sms_send",
        {"text": "Hi {{contact.first_name}}", "contact_id": AVA, "confirmed": True},
        expect=OK,
        sent=("Hi Ava",),
    ),  # fmt: skip
    "10-bulk-unknown-tag": McpRow(
        "sms_bulk_send",
        {"template": "Hi", "tag": "nosuchtag", "confirmed": True},
        ("nosuchtag",),
        sent=(),
    ),  # fmt: skip
    "10-bulk-header-only-csv": McpRow(
        "sms_bulk_send",
        {"template": "Hi", "csv_path": "$TMP/header.csv", "confirmed": True},
        ("header.csv",),
        sent=(),
    ),  # fmt: skip
    "21-text-of-the-wrong-type": McpRow("sms_send", {"text": 5, "contact_id": AVA}, ("text",)),
    "21-missing-required-text": McpRow("sms_send", {"contact_id": AVA}, ("text",)),
    "21-limit-out-of-range": McpRow("sms_inbox", {"limit": 500}, ("limit",)),
    "21-inbox-cursor-nonsense": McpRow("sms_inbox", {"cursor": "nope"}, ("cursor",)),
    "21-unknown-argument": McpRow("sms_numbers", {"verbose": True}, ("verbose",)),
    "23-cancel-a-sent-message": McpRow(
        "sms_cancel",
        {"message_id": "$MSG"},
        ("not scheduled",),
        before=(send(text="Hello", contact_id=AVA),),
    ),  # fmt: skip
}


@pytest.mark.parametrize("row", [pytest.param(r, id=name) for name, r in ROWS.items()])
def test_bad_mcp_input_gets_an_error_naming_the_fix(row: McpRow) -> None:
    with tempfile.TemporaryDirectory(prefix="ghl-sms-harness-") as tmp:
        fixture_files(Path(tmp))

        async def run() -> None:
            async with session(row.answer, FakeClock(row.at)) as (client, s):
                message_id = "noSuchMessage00000001"
                for tool, arguments in row.before:
                    first = await client.call_tool(tool, arguments)
                    assert not first.is_error, error_text(first)
                    message_id = (first.structured_content or {}).get("message_id", message_id)
                arguments = {
                    k: v.replace("$MSG", message_id).replace("$TMP", tmp)
                    if isinstance(v, str) else v
                    for k, v in row.arguments.items()
                }  # fmt: skip
                result = await client.call_tool(row.tool, arguments)
                text = error_text(result)
                if row.expect == OK:
                    assert not result.is_error, text
                else:
                    assert result.is_error, result.structured_content
                    assert raw_python_text(text) is None, text
                    assert text.strip() != f"Error executing tool {row.tool}", text
                    for name in row.names:
                        assert name in text, f"{name!r} not in: {text}"
                if row.sent is not None:
                    bodies = tuple(m.body for m in outbound(s).values())
                    assert bodies == row.sent, bodies

        anyio.run(run)
