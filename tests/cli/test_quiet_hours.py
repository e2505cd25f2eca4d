"""A marketing text in the recipient's quiet hours: refused with the time to paste into --at."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from support.cli import CliHarness

HUGO_FL = "sbxCtFlorida00000001"  # America/New_York
# 22:00 in New York (after Florida's 20:00), 19:00 in California.
NIGHT_IN_FLORIDA = datetime(2026, 3, 5, 3, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return CliHarness(tmp_path, FakeClock(NIGHT_IN_FLORIDA))


def _messages_sent(h: CliHarness) -> int:
    with h.sandbox() as sandbox:
        return int(sandbox.state()["counts"]["messages"])


def test_a_marketing_send_in_quiet_hours_is_refused_with_the_ways_forward(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", HUGO_FL, "Sale today!")
    assert result.exit_code == 3, result.output
    as_json = h.run("send", "--sandbox", "--contact", HUGO_FL, "Sale today!", "--json")
    assert as_json.exit_code == 3
    error = json.loads(as_json.stdout)["error"]
    next_allowed = error["next_allowed_at"]
    assert next_allowed.endswith("Z") and next_allowed > "2026-03-05T03:00:00Z"
    assert f"--at {next_allowed}" in result.stderr
    assert "--transactional" in result.stderr and "--ignore-quiet-hours" in result.stderr
    assert _messages_sent(h) == 0

    pasted = h.run("send", "--sandbox", "--contact", HUGO_FL, "Sale today!", "--at", next_allowed)
    assert pasted.exit_code == 0, pasted.output
    assert "Scheduled" in pasted.stdout


def test_transactional_and_ignore_quiet_hours_send_now(h: CliHarness) -> None:
    reminder = h.run(
        "send", "--sandbox", "--contact", HUGO_FL, "Your code: 1234", "--transactional"
    )
    assert reminder.exit_code == 0, reminder.output
    on_purpose = h.run(
        "send", "--sandbox", "--contact", HUGO_FL, "Sale today!", "--ignore-quiet-hours", "--json"
    )
    assert on_purpose.exit_code == 0, on_purpose.output
    notes = json.loads(on_purpose.stdout)["notes"]
    assert any(n["code"] == "quiet_hours" and "on purpose" in n["message"] for n in notes)
    assert _messages_sent(h) == 2
