"""``ghl-sms history``: the ledger's sends as text, CSV and JSON, without opening GHL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ghl_sms.ops.history import CSV_COLUMNS
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
CHLOE = "sbxCtEmailDnd0000001"
EVE = "sbxCtLandline0000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _send(h: CliHarness, *args: str) -> str:
    out = h.json("send", "--sandbox", *args)
    assert out["outcome"] == "sent", out
    return str(out["message_id"])


def test_text_shows_the_message_id_name_number_text_and_status(h: CliHarness) -> None:
    message_id = _send(h, "--contact", AVA, "Table for two at 7?")
    result = h.run("history", "--sandbox")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(message_id)  # the id to paste into `status` / `cancel`
    assert "Ava Reed (+14155550100)" in first and "pending" in first
    assert "Table for two at 7?" in result.stdout
    assert "SMS, 1 part GSM-7, ~$0.0079" in result.stdout
    assert "1 send, ~$0.0079 estimated." in result.stdout


def test_history_does_not_open_the_sandbox(h: CliHarness) -> None:
    _send(h, "--contact", AVA, "Hello")
    opened = len(h.sandboxes)
    result = h.run("history", "--sandbox")
    assert result.exit_code == 0, result.output
    assert len(h.sandboxes) == opened


def test_history_needs_no_token_but_a_location(h: CliHarness) -> None:
    result = h.run("history")
    assert result.exit_code == 2
    assert "GHL_LOCATION_ID" in result.stderr and "Traceback" not in result.output
    result = h.run("history", env={"GHL_LOCATION_ID": "someLocation"})
    assert result.exit_code == 0, result.output
    assert "No sends recorded" in result.stdout
    assert not (h.tmp / "ledger.db").exists()  # reading never creates a ledger


def test_a_failure_is_explained_in_plain_words(h: CliHarness) -> None:
    message_id = _send(h, "--contact", EVE, "Hi Eve")
    with h.sandbox() as sb:
        sb.advance(60)  # the carrier says: landline, undelivered 30006
    status = h.json("status", "--sandbox", message_id)
    assert status["status"] == "undelivered"
    result = h.run("history", "--sandbox", "--status", "undelivered")
    assert result.exit_code == 0, result.output
    assert message_id in result.stdout and "undelivered" in result.stdout
    assert "30006" in result.stdout and "What to do:" in result.stdout
    delivered = h.run("history", "--sandbox", "--status", "delivered")
    assert "No sends recorded" in delivered.stdout


def test_filters_by_number_and_contact(h: CliHarness) -> None:
    _send(h, "--contact", AVA, "For Ava")
    _send(h, "--contact", CHLOE, "For Chloe")
    to_ava = h.json("history", "--sandbox", "--to", "(415) 555-0100")
    assert [e["text"] for e in to_ava] == ["For Ava"]
    chloe = h.json("history", "--sandbox", "--contact", CHLOE)
    assert [e["text"] for e in chloe] == ["For Chloe"]


def test_since_and_until_take_durations_ago(h: CliHarness) -> None:
    _send(h, "--contact", AVA, "Old news")
    h.clock.advance(3 * 86400)
    _send(h, "--contact", AVA, "Fresh news")
    assert [e["text"] for e in h.json("history", "--sandbox", "--since", "2d")] == ["Fresh news"]
    assert [e["text"] for e in h.json("history", "--sandbox", "--until", "2d")] == ["Old news"]


def test_csv_export_to_a_file_has_every_column(h: CliHarness) -> None:
    message_id = _send(h, "--contact", AVA, "Exported")
    target = h.tmp / "sends.csv"
    result = h.run("history", "--sandbox", "--format", "csv", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "Wrote 1 send to" in result.stderr and result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert (rows[0]["message_id"], rows[0]["contact_name"], rows[0]["text"]) == (
        message_id,
        "Ava Reed",
        "Exported",
    )
    assert rows[0]["cost_estimate_usd"] == "0.0079"


def test_json_and_format_json_are_the_same(h: CliHarness) -> None:
    _send(h, "--contact", AVA, "Same")
    by_flag = h.json("history", "--sandbox")
    by_format = json.loads(h.run("history", "--sandbox", "--format", "json").stdout)
    assert by_flag == by_format
    [entry] = by_flag
    assert entry["created_at"] == "2026-03-04T18:00:00Z"
    assert entry["contact_id"] == AVA and entry["segments"] == 1


def test_text_pages_and_says_there_are_more(h: CliHarness) -> None:
    for n in range(3):
        _send(h, "--contact", AVA, f"Message {n}")
    result = h.run("history", "--sandbox", "--limit", "2")
    assert "Message 2" in result.stdout and "Message 1" in result.stdout
    assert "Message 0" not in result.stdout
    assert "Newest 2 shown" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--contact", "+14155550100"], "Use --to +14155550100"),
        (["--to", "12"], "not a valid phone number"),
        (["--since", "yesterday"], "is not a time"),
        (["--since", "2026-03-01T00:00"], "no UTC offset"),
        (["--status", "bounced"], "Unknown status 'bounced'"),
        (["--since", "1h", "--until", "2d"], "before it starts"),
        (["--json", "--format", "csv"], "two formats"),
    ],
)
def test_bad_input_is_a_usage_error(h: CliHarness, args: list[str], words: str) -> None:
    result = h.run("history", "--sandbox", *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_bad_input_under_json_is_a_json_error(h: CliHarness) -> None:
    result = h.run("history", "--sandbox", "--json", "--status", "bounced")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage"
