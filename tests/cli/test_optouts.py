"""``ghl-sms optouts``: manual opt-outs block sends; STOP wins; --sync sets GHL's DND."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.ledger import Ledger
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
AVA_PHONE = "+14155550100"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _sandbox_ledger(h: CliHarness) -> Ledger:
    return Ledger.open(h.tmp / "sandbox-ledger.db", FakeClock(h.clock.now()))


def _sms_dnd(h: CliHarness, contact_id: str) -> str:
    with h.sandbox() as sb:
        contact = sb.contact(contact_id)
        assert contact is not None
        return str(((contact.get("dndSettings") or {}).get("SMS") or {}).get("status"))


def test_record_an_opt_out_by_hand_then_a_send_is_refused(h: CliHarness) -> None:
    added = h.run("optouts", "add", "--sandbox", "(415) 555-0100", "--reason", "phoned in")
    assert added.exit_code == 0, added.output
    assert f"Opted out {AVA_PHONE} (phoned in)" in added.stdout
    assert "add --sync" in added.stdout  # says GHL was not changed
    for recipient in (["--to", AVA_PHONE], ["--contact", AVA]):
        sent = h.run("send", "--sandbox", *recipient, "Hi Ava")
        assert sent.exit_code == 3, sent.output
        assert "opted out" in sent.stderr
    with h.sandbox() as sb:
        rows = sb.store.conn.execute(
            "SELECT count(*) FROM messages WHERE contact_id = ?", (AVA,)
        ).fetchone()
        assert rows[0] == 0  # GHL received nothing


def test_list_shows_the_source_and_when(h: CliHarness) -> None:
    h.run("optouts", "add", "--sandbox", AVA_PHONE, "--reason", "asked by email")
    ledger = _sandbox_ledger(h)
    ledger.record_opt_out(
        "sandboxDemoLocation1", phone="+14155550110", source="keyword", detail="STOP"
    )
    ledger.close()
    listed = h.json("optouts", "list", "--sandbox")
    assert [(e["phone"], e["source"], e["source_label"], e["detail"]) for e in listed] == [
        ("+14155550110", "keyword", "STOP reply", "STOP"),
        (AVA_PHONE, "manual", "manual", "asked by email"),
    ]
    assert listed[1]["created_at"] == "2026-03-04T18:00:00Z"
    text = h.run("optouts", "list", "--sandbox")
    assert "STOP reply" in text.stdout and AVA_PHONE in text.stdout
    assert "2 active opt-outs." in text.stdout


def test_remove_needs_a_reason_and_is_recorded(h: CliHarness) -> None:
    h.run("optouts", "add", "--sandbox", AVA_PHONE)
    missing = h.run("optouts", "remove", "--sandbox", AVA_PHONE)
    assert missing.exit_code == 2
    assert "needs a reason" in missing.stderr and "--reason" in missing.stderr
    removed = h.run(
        "optouts", "remove", "--sandbox", AVA_PHONE, "--reason", "wrong number",
        env={"USER": "sam"},
    )  # fmt: skip
    assert removed.exit_code == 0, removed.output
    assert "Removed the opt-out" in removed.stdout
    assert h.json("optouts", "list", "--sandbox") == []
    audit = h.json("optouts", "audit", "--sandbox", AVA_PHONE)
    assert [(a["action"], a["actor"], a["reason"]) for a in audit][0] == (
        "remove",
        "sam",
        "wrong number",
    )
    sent = h.json("send", "--sandbox", "--to", AVA_PHONE, "Hello again")
    assert sent["outcome"] == "sent"


def test_a_stop_cannot_be_removed_by_hand(h: CliHarness) -> None:
    ledger = _sandbox_ledger(h)
    ledger.record_opt_out("sandboxDemoLocation1", phone=AVA_PHONE, source="keyword", detail="STOP")
    ledger.close()
    refused = h.run("optouts", "remove", "--sandbox", AVA_PHONE, "--reason", "they called")
    assert refused.exit_code == 3, refused.output
    assert "text START" in refused.stderr and "STOP reply" in refused.stderr
    as_json = h.run("optouts", "remove", "--sandbox", AVA_PHONE, "--reason", "x", "--json")
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["error"]["code"] == "opt_out_stands"
    assert [e["source"] for e in h.json("optouts", "list", "--sandbox")] == ["keyword"]
    assert h.run("send", "--sandbox", "--to", AVA_PHONE, "Hi").exit_code == 3


def test_sync_sets_and_clears_sms_dnd_in_ghl(h: CliHarness) -> None:
    added = h.json("optouts", "add", "--sandbox", AVA_PHONE, "--sync")
    assert added["added"] and added["sync"]["result"] == "set"
    assert added["sync"]["contact_id"] == AVA
    assert _sms_dnd(h, AVA) == "active"
    # The contact found is linked, so the audit shows it.
    assert h.json("optouts", "audit", "--sandbox")[0]["contact_id"] == AVA
    removed = h.run("optouts", "remove", "--sandbox", AVA_PHONE, "--reason", "opted in on paper",
                    "--sync")  # fmt: skip
    assert removed.exit_code == 0, removed.output
    assert "SMS DND cleared on Ava Reed" in removed.stdout
    assert _sms_dnd(h, AVA) == "inactive"


def test_sync_for_a_number_ghl_does_not_know(h: CliHarness) -> None:
    added = h.run("optouts", "add", "--sandbox", "+14155550199", "--sync")
    assert added.exit_code == 0, added.output
    assert "no contact has this number" in added.stdout


def test_ledger_only_commands_need_a_location_not_a_token(h: CliHarness) -> None:
    env = {"GHL_LOCATION_ID": "realLocation1"}
    added = h.run("optouts", "add", AVA_PHONE, "--reason", "phoned in", env=env)
    assert added.exit_code == 0, added.output
    listed = h.run("optouts", "list", "--json", env=env)
    assert [e["phone"] for e in json.loads(listed.stdout)] == [AVA_PHONE]
    # The sandbox's location and ledger are another matter.
    assert h.json("optouts", "list", "--sandbox") == []
    nowhere = h.run("optouts", "list")
    assert nowhere.exit_code == 2 and "GHL_LOCATION_ID" in nowhere.stderr
    needs_token = h.run("optouts", "add", AVA_PHONE, "--sync", env=env)
    assert needs_token.exit_code == 2 and "GHL_TOKEN" in needs_token.stderr
    assert "recorded here" in needs_token.stderr  # the local opt-out stands regardless


@pytest.mark.parametrize("command", ["add", "remove"])
def test_an_invalid_number_is_a_usage_error(h: CliHarness, command: str) -> None:
    result = h.run("optouts", command, "--sandbox", "12345", "--reason", "x")
    assert result.exit_code == 2, result.output
    assert "not a valid phone number" in result.stderr and "Traceback" not in result.output


def test_adding_twice_says_it_was_already_opted_out(h: CliHarness) -> None:
    h.run("optouts", "add", "--sandbox", AVA_PHONE, "--reason", "first")
    again = h.run("optouts", "add", "--sandbox", AVA_PHONE, "--reason", "second")
    assert again.exit_code == 0
    assert "already opted out" in again.stdout and "'first'" in again.stdout
    assert len(h.json("optouts", "audit", "--sandbox")) == 1


def test_removing_a_dnd_opt_out_without_sync_says_ghl_still_blocks(h: CliHarness) -> None:
    ledger = _sandbox_ledger(h)
    ledger.record_opt_out(
        "sandboxDemoLocation1", phone=AVA_PHONE, contact_id=AVA, source="webhook_dnd"
    )
    ledger.close()
    removed = h.run("optouts", "remove", "--sandbox", AVA_PHONE, "--reason", "cleared in GHL")
    assert removed.exit_code == 0, removed.output
    assert "SMS DND set in GHL" in removed.stdout and "add --sync" in removed.stdout
