"""The README's main job: `ghl-sms demo` walks every step and exits 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from ghl_sms.cli import cli
from ghl_sms.cli._demo import demo_start


def test_the_demo_runs_every_step_successfully_and_logs_json() -> None:
    result = CliRunner().invoke(cli, ["demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    assert log["ok"] is True
    assert [s["ok"] for s in log["steps"]] == [True] * 11
    titles = " | ".join(s["title"] for s in log["steps"])
    for topic in ("Find a contact by name", "SMS", "MMS", "same conversation", "Schedule",
                  "DND", "invalid", "reply", "STOP", "failure explained"):  # fmt: skip
        assert topic in titles
    blocked = [s for s in log["steps"] if (s["result"] or {}).get("outcome") == "blocked"]
    assert [s["result"]["notes"][0]["code"] for s in blocked] == [
        "sms_dnd",
        "invalid_phone",
        "opted_out",  # the STOP arrived by signed webhook and blocked before any API call
    ]
    found = log["steps"][0]["result"]["contacts"]
    assert [(c["name"], c["id"]) for c in found] == [("Ava Reed", "sbxCtReachable000001")]
    failed = log["steps"][-1]["result"]["failed"]
    assert failed["error_code"] == "30006" and failed["advice"]


def test_the_demo_narrates_for_people() -> None:
    result = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "$ ghl-sms send --sandbox" in result.stdout
    assert "all steps behaved as expected" in result.stdout
    assert "ghl-sms console --sandbox" in result.stdout  # the same story, watched live


def test_the_demo_always_starts_on_a_weekday_afternoon() -> None:
    saturday = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    start = datetime.fromtimestamp(demo_start(saturday), UTC)
    assert (start.weekday(), start.hour) == (0, 18)
