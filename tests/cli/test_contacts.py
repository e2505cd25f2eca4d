"""``ghl-sms contacts``: search and show through click's runner, against a sandbox file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghl_sms.ops.ledger import Ledger
from ghl_sms.sandbox import DEMO_LOCATION_ID
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
BEN = "sbxCtSmsDnd000000001"
HUGO = "sbxCtFlorida00000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def test_a_name_finds_ben_and_says_he_cannot_be_texted(h: CliHarness) -> None:
    result = h.run("contacts", "--sandbox", "Ben")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if BEN in line)
    assert "Ben Carter" in row and "+14155550102" in row and "SMS DND" in row
    assert "1 of 1 matching contact." in result.stdout
    assert "ghl-sms contacts show CONTACT_ID" in result.stdout


def test_search_json_has_the_documented_fields(h: CliHarness) -> None:
    out = h.json("contacts", "--sandbox", "--email", "BEN.carter@example.com")
    assert (out["total"], out["matched_by"], out["dnd_checked"]) == (1, "search", True)
    assert out["contacts"] == [
        {"id": BEN, "name": "Ben Carter", "phone": "+14155550102",
         "email": "ben.carter@example.com", "tags": ["sandbox", "sms_dnd"], "sms_dnd": True,
         "opted_out": False, "opt_out_source": None}
    ]  # fmt: skip


def test_a_phone_in_any_format_finds_its_contact(h: CliHarness) -> None:
    for args in (["--phone", "(415) 555-0100"], ["415.555.0100"]):
        out = h.json("contacts", "--sandbox", *args)
        assert [c["id"] for c in out["contacts"]] == [AVA] and out["matched_by"] == "phone"


def test_the_printed_cursor_pages_on_until_there_is_none(h: CliHarness) -> None:
    first = h.run("contacts", "--sandbox", "--tag", "sandbox", "--limit", "10")
    assert "10 of 13 matching contacts." in first.stdout
    cursor = first.stdout.split("More: --cursor ")[1].split()[0]
    second = h.json("contacts", "--sandbox", "--tag", "sandbox", "--cursor", cursor)
    assert len(second["contacts"]) == 3 and second["next_cursor"] is None
    assert AVA not in {c["id"] for c in second["contacts"]}


def test_a_local_opt_out_shows_in_search_and_show(h: CliHarness) -> None:
    h.run("contacts", "--sandbox", "Ava")  # creates the sandbox's ledger
    ledger = Ledger.open(h.tmp / "sandbox-ledger.db", h.clock)
    ledger.record_opt_out(DEMO_LOCATION_ID, phone="+14155550100", source="manual")
    ledger.close()
    assert "opted out" in h.run("contacts", "--sandbox", "Ava").stdout
    ava = h.json("contacts", "--sandbox", "Ava")["contacts"][0]
    assert (ava["opted_out"], ava["opt_out_source"], ava["sms_dnd"]) == (True, "manual", False)
    shown = h.run("contacts", "show", AVA, "--sandbox")
    assert "blocked: opted out locally (manual" in shown.stdout


def test_show_has_time_zone_state_and_dnd(h: CliHarness) -> None:
    hugo = h.run("contacts", "show", HUGO, "--sandbox")
    assert hugo.exit_code == 0, hugo.output
    assert "America/New_York (from their time zone)" in hugo.stdout
    assert "Miami, FL, US" in hugo.stdout and "can be texted" in hugo.stdout
    ben = h.json("contacts", "show", BEN, "--sandbox")
    assert ben["dnd_channels"]["SMS"]["status"] == "active" and ben["sms_dnd"] is True
    assert ben["quiet_hours_zones"] == ["America/Los_Angeles"]


def test_options_before_show_still_reach_it(h: CliHarness) -> None:
    result = h.run("contacts", "--sandbox", "show", BEN)
    assert result.exit_code == 0, result.output
    assert "Ben Carter" in result.stdout


def test_after_a_double_dash_show_is_a_search_text(h: CliHarness) -> None:
    result = h.run("contacts", "--sandbox", "--", "show")
    assert result.exit_code == 0 and "No contacts match." in result.stdout


def test_show_with_a_phone_number_points_to_the_phone_search(h: CliHarness) -> None:
    result = h.run("contacts", "show", "+1 415 555 0102", "--sandbox")
    assert result.exit_code == 2
    assert "looks like a phone number, not a contact id" in result.stderr
    assert "ghl-sms contacts --phone '+1 415 555 0102'" in result.stderr
    error = json.loads(h.run("contacts", "show", "4155550102", "--sandbox", "--json").stdout)
    assert error["error"]["code"] == "phone_given_as_contact"


def test_an_unknown_id_exits_1_and_says_how_to_find_one(h: CliHarness) -> None:
    result = h.run("contacts", "show", "nope", "--sandbox")
    assert result.exit_code == 1
    assert "No contact 'nope'" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--cursor", "nope"], "not a contacts cursor"),
        (["--cursor", "2:5", "--limit", "10"], "pages 5 contacts at a time"),
        (["--email", "ben"], "not an email address"),
        (["--phone", "12"], "not usable"),
        (["--limit", "0"], "0 is not in the range"),
    ],
)
def test_bad_input_is_a_usage_error(h: CliHarness, args: list[str], words: str) -> None:
    result = h.run("contacts", "--sandbox", *args)
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.output


def test_a_phone_number_given_as_contact_says_use_to(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", "+14155550100", "Hi")
    assert result.exit_code == 2
    assert "looks like a phone number" in result.stderr and "use --to" in result.stderr
    check = h.run("check", "--sandbox", "--contact", "(415) 555-0100")
    assert check.exit_code == 2 and "use --to" in check.stderr


def test_help_lists_contacts_with_examples(h: CliHarness) -> None:
    assert "contacts" in h.run("--help").stdout
    text = h.run("contacts", "--help").stdout
    assert "ghl-sms contacts Ben" in text and "ghl-sms contacts show" in text
    assert "--phone" in h.run("contacts", "search", "--help").stdout
