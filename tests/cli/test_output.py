"""What users read: one timestamp format in JSON, the ids they pass on, when things go out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ghl_sms.cli._app import to_jsonable
from ghl_sms.ops.models import MessageStatus
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _timestamps(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, value) of a JSON document whose key names a moment."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _timestamps(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in _timestamps(v, key)]
    if key.endswith("_at") or key in ("date_added", "date_updated"):
        return [(key, value)]
    return []


def test_every_timestamp_in_the_json_is_iso_utc_to_the_second(h: CliHarness) -> None:
    h.json("send", "--sandbox", "--contact", AVA, "Now")
    scheduled = h.json("send", "--sandbox", "--contact", AVA, "Later", "--at", "90m")
    documents = [
        scheduled,
        h.json("cancel", "--sandbox"),  # the ledger keeps epoch seconds
        h.json("status", "--sandbox", scheduled["message_id"]),
        h.json("thread", "--sandbox", "--contact", AVA),
        h.json("inbox", "--sandbox"),
        h.json("check", "--sandbox", "--contact", AVA),
    ]
    found = [pair for document in documents for pair in _timestamps(document)]
    assert {key for key, _ in found} >= {"scheduled_at", "date_added", "last_message_at"}
    for key, value in found:
        assert value is None or ISO_UTC.fullmatch(value), (key, value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime(2026, 12, 4, 17, 0, 0, 123456, tzinfo=UTC), "2026-12-04T17:00:00Z"),
        (
            datetime(2026, 12, 4, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-12-04T17:00:00Z",
        ),
        ("2026-12-04T17:00:00.999+00:00", "2026-12-04T17:00:00Z"),
        (1796403600.25, "2026-12-04T17:00:00Z"),
        (1796403600000, "2026-12-04T17:00:00Z"),  # GHL's epoch milliseconds
    ],
)
def test_to_jsonable_writes_one_timestamp_format(raw: Any, expected: str) -> None:
    assert to_jsonable({"sent_at": raw}) == {"sent_at": expected}


def test_to_jsonable_leaves_other_fields_alone() -> None:
    data = {"body": "2026-12-04T17:00:00.5+00:00", "segments": 1796403600, "ok": True}
    assert to_jsonable(data) == data
    status = MessageStatus(message_id="m", status="sent", final=False,
                           date_added=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC))  # fmt: skip
    assert to_jsonable(status)["date_added"] == "2026-01-02T03:04:05Z"


def test_status_of_a_scheduled_message_says_when_it_goes_out(h: CliHarness) -> None:
    scheduled = h.json("send", "--sandbox", "--contact", AVA, "Later", "--at", "2h")
    text = h.run("status", "--sandbox", scheduled["message_id"])
    assert text.exit_code == 0, text.output
    assert "Goes out" in text.stdout and f"ghl-sms cancel {scheduled['message_id']}" in text.stdout
    as_json = h.json("status", "--sandbox", scheduled["message_id"])
    assert as_json["scheduled_at"] == scheduled["scheduled_at"]
    sent = h.json("send", "--sandbox", "--contact", AVA, "Now")
    assert h.json("status", "--sandbox", sent["message_id"])["scheduled_at"] is None


def test_a_dry_run_with_at_says_when_it_would_go(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", AVA, "Later", "--at", "2h", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would schedule SMS for" in result.stdout
    assert "1 part GSM-7" in result.stdout
    now = h.run("send", "--sandbox", "--contact", AVA, "Now", "--dry-run")
    assert "would send SMS now" in now.stdout


def test_thread_and_inbox_show_the_ids_status_cancel_and_thread_take(h: CliHarness) -> None:
    sent = h.json("send", "--sandbox", "--contact", AVA, "Hello")
    thread = h.run("thread", "--sandbox", "--contact", AVA)
    assert sent["message_id"] in thread.stdout and sent["conversation_id"] in thread.stdout
    inbox = h.run("inbox", "--sandbox")
    assert sent["conversation_id"] in inbox.stdout
    assert "ghl-sms thread --conversation" in inbox.stdout


def test_check_says_1_part_not_1_parts(h: CliHarness) -> None:
    result = h.run("check", "--sandbox", "--contact", AVA, "--text", "Hi")
    assert "1 part," in result.stdout and "part(s)" not in result.stdout
