"""`ghl-sms bulk send --send-window`: bad windows are one-line usage errors naming the
option and the form to write; a good one is shown in the dry run and in `bulk status`,
and holds recipients back until their local opening."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox
from support.cli import CliHarness

HUGO = "sbxCtFlorida00000001"
MORNING = datetime(2026, 3, 4, 13, 0, tzinfo=UTC).timestamp()  # 08:00 in Miami


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return CliHarness(tmp_path, FakeClock(MORNING))


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ("25:00-26:00", "not a time of day"),
        ("9-5", "not a send window"),
        ("09:00-09:00", "is empty"),
        ("21:00-02:00", "across midnight are not supported"),
        ("", "not a send window"),
    ],
)
def test_a_bad_window_is_a_one_line_usage_error(h: CliHarness, window: str, says: str) -> None:
    result = h.run("bulk", "send", "--sandbox", "--contacts", HUGO, "Hi", "--send-window", window)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--send-window" in result.stderr and says in result.stderr
    assert "HH:MM-HH:MM" in result.stderr and "09:30-17:00" in result.stderr
    assert h.json("bulk", "status", "--sandbox") == []  # no campaign was created


def test_the_dry_run_and_status_show_the_window_and_the_recipient_waits(h: CliHarness) -> None:
    dry = h.run("bulk", "send", "--sandbox", "--contacts", HUGO, "Hi", "--dry-run",
                "--send-window", "09:30-17:00")  # fmt: skip
    assert dry.exit_code == 0, dry.output
    assert "send window 09:30-17:00" in dry.stdout

    waiting = h.json("bulk", "send", "--sandbox", "--contacts", HUGO, "Hi", "--no-wait",
                     "--send-window", "09:30-17:00", "--transactional")  # fmt: skip
    campaign = waiting["campaign"]
    assert campaign["send_window"] == "09:30-17:00" and campaign["transactional"] is True
    assert waiting["counts"]["deferred"] == 1 and waiting["counts"]["sent"] == 0
    assert waiting["next_due_at"].startswith("2026-03-04T14:30")  # 09:30 in Miami
    shown = h.run("bulk", "status", "--sandbox", campaign["id"])
    assert "send window 09:30-17:00" in shown.stdout

    done = h.json("bulk", "resume", "--sandbox", campaign["id"])  # the window comes back
    assert done["campaign"]["state"] == "completed" and done["counts"]["sent"] == 1
    with Sandbox(db_path=h.tmp / "sandbox.db", clock=h.clock) as sandbox:
        [(count,)] = sandbox.store.conn.execute(
            "SELECT count(*) FROM messages WHERE direction = 'outbound'"
        ).fetchall()
    assert count == 1
