"""`ghl-sms bulk` through click's runner, against a sandbox file."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from ghl_sms.sandbox import Sandbox
from support.bulk import write_csv
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
BEN = "sbxCtSmsDnd000000001"
HUGO = "sbxCtFlorida00000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _outbound(h: CliHarness) -> Counter[str]:
    with Sandbox(db_path=h.tmp / "sandbox.db", clock=h.clock) as sandbox:
        rows = sandbox.store.conn.execute(
            "SELECT contact_id FROM messages WHERE direction = 'outbound'"
        )
        return Counter(str(r[0]) for r in rows)


def _list(h: CliHarness) -> Path:
    return write_csv(
        h.tmp / "list.csv",
        ["contact_id", "phone", "First Name", "Slot"],
        [
            [AVA, "", "Ava", "3pm"],
            ["", "+14155552001", "Noor", "4pm"],
            [BEN, "", "Ben", "5pm"],
            ["", "555", "Bad", "6pm"],
            ["", "+14155552001", "Noor again", "7pm"],
        ],
    )


def test_a_dry_run_prints_counts_skips_and_cost_and_sends_nothing(h: CliHarness) -> None:
    out = h.json("bulk", "send", "--sandbox", "--csv", str(_list(h)), "Hi {first_name}, {slot}",
                 "--dry-run")  # fmt: skip
    assert out["dry_run"] is True
    # Ben's DND is found as the samples are looked up: he counts as skipped.
    assert out["total"] == 5 and out["would_send"] == 2
    assert {r["code"]: r["count"] for r in out["skipped"]} == {
        "invalid_phone": 1, "duplicate_recipient": 1, "sms_dnd": 1
    }  # fmt: skip
    assert [x["text"] for x in out["samples"]] == ["Hi Ava, 3pm", "Hi Noor, 4pm"]
    assert out["cost_estimate_usd"] == pytest.approx(2 * 0.0079)
    assert _outbound(h) == Counter()
    assert h.json("bulk", "status", "--sandbox") == []  # the draft is gone


def test_a_dry_run_in_words_names_the_reasons(h: CliHarness) -> None:
    result = h.run("bulk", "send", "--sandbox", "--csv", str(_list(h)), "Hi {first_name}",
                   "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 would be texted" in result.stdout and "invalid_phone" in result.stdout
    assert "Nothing sent" in result.stdout


def test_a_dry_run_shows_the_fallback_an_empty_cell_gets_not_the_template(
    h: CliHarness,
) -> None:
    csv_file = write_csv(
        h.tmp / "list.csv", ["phone", "first_name"], [["+14155552001", ""], ["+14155552002", "Bo"]]
    )
    template = "Hi {first_name|there}, reply STOP to opt out"
    result = h.run("bulk", "send", "--sandbox", "--csv", str(csv_file), template, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+14155552001: Hi there, reply STOP" in result.stdout
    assert "+14155552002: Hi Bo, reply STOP" in result.stdout
    assert "{first_name" not in result.stdout
    assert _outbound(h) == Counter()
    sent = h.json("bulk", "send", "--sandbox", "--csv", str(csv_file), template)
    assert sent["counts"]["sent"] == 2
    with h.sandbox() as sandbox:
        bodies = sorted(
            str(r[0])
            for r in sandbox.store.conn.execute(
                "SELECT body FROM messages WHERE direction = 'outbound'"
            )
        )
    assert bodies == ["Hi Bo, reply STOP to opt out", "Hi there, reply STOP to opt out"]


def test_send_texts_each_eligible_recipient_once_and_reports_every_outcome(
    h: CliHarness,
) -> None:
    status = h.json("bulk", "send", "--sandbox", "--csv", str(_list(h)), "Hi {first_name}")
    assert status["campaign"]["state"] == "completed"
    assert status["counts"]["sent"] == 2 and status["counts"]["skipped"] == 3
    assert {(r["code"], r["count"]) for r in status["reasons"]} == {
        ("sms_dnd", 1), ("invalid_phone", 1), ("duplicate_recipient", 1)
    }  # fmt: skip
    sent = _outbound(h)
    assert sent[AVA] == 1 and sum(sent.values()) == 2

    campaign_id = status["campaign"]["id"]
    report = h.run("bulk", "report", "--sandbox", campaign_id)
    rows = list(csv.DictReader(io.StringIO(report.stdout)))
    assert [r["state"] for r in rows] == ["sent", "sent", "skipped", "skipped", "skipped"]
    assert rows[0]["message_id"] and rows[2]["reason_code"] == "sms_dnd"
    assert list(rows[0]) == [
        "seq", "contact_id", "contact_name", "phone", "state", "reason_code", "reason", "text",
        "message_id", "attempts", "not_before", "updated_at", "idempotency_key",
    ]  # fmt: skip
    ava, noor, ben, bad, again = rows
    assert (ava["contact_name"], ava["phone"], ava["text"]) == (
        "Ava Reed",
        "+14155550100",
        "Hi Ava",
    )
    # Given by number: the contact GHL texted is filled in once the row was sent.
    [noor_contact] = [c for c in _outbound(h) if c not in (AVA, BEN)]
    assert (noor["contact_id"], noor["phone"]) == (noor_contact, "+14155552001")
    assert (noor["contact_name"], noor["text"], noor["attempts"]) == ("Noor", "Hi Noor", "1")
    assert (ben["contact_name"], ben["text"], ben["attempts"]) == ("Ben Carter", "", "0")
    assert (bad["contact_id"], bad["attempts"], again["attempts"]) == ("", "0", "0")
    assert again["reason_code"] == "duplicate_recipient" and again["text"] == ""
    as_json = json.loads(
        h.run("bulk", "report", "--sandbox", campaign_id, "--format", "json").stdout
    )
    assert [r["seq"] for r in as_json] == [1, 2, 3, 4, 5]
    assert as_json[1] == {
        **{k: v for k, v in as_json[1].items() if k in ("message_id", "reason", "updated_at")},
        "seq": 2, "contact_id": noor_contact, "contact_name": "Noor", "phone": "+14155552001",
        "state": "sent", "reason_code": None, "text": "Hi Noor", "attempts": 1,
        "not_before": None, "idempotency_key": f"bulk:{campaign_id}:2",
    }  # fmt: skip
    assert as_json[2]["text"] is None and as_json[2]["attempts"] == 0


def test_send_in_words_shows_the_campaign_and_how_to_resume(h: CliHarness) -> None:
    result = h.run("bulk", "send", "--sandbox", "--contacts", f"{AVA},{BEN}", "Hello")
    assert result.exit_code == 0, result.output
    assert "bulk resume cmp_" in result.stderr
    assert "completed" in result.stdout and "1 sent, 1 skipped" in result.stdout


def test_status_lists_campaigns_and_shows_one_with_reasons(h: CliHarness) -> None:
    status = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{BEN}", "Hello")
    campaign_id = status["campaign"]["id"]
    listed = h.run("bulk", "status", "--sandbox")
    assert campaign_id in listed.stdout
    shown = h.run("bulk", "status", "--sandbox", campaign_id)
    assert "sms_dnd" in shown.stdout and "1 sent" in shown.stdout


def test_a_campaign_waiting_for_its_daily_cap_can_be_cancelled(h: CliHarness) -> None:
    waiting = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO}", "Hello",
                     "--per-day", "1", "--no-wait")  # fmt: skip
    assert waiting["campaign"]["state"] == "running"
    assert waiting["campaign"]["waiting_reason"] == "daily_cap"
    campaign_id = waiting["campaign"]["id"]
    cancelled = h.json("bulk", "cancel", "--sandbox", campaign_id)
    assert cancelled["campaign"]["state"] == "cancelled"
    assert cancelled["counts"] == {**cancelled["counts"], "sent": 1, "skipped": 1}
    resumed = h.run("bulk", "resume", "--sandbox", campaign_id)
    assert resumed.exit_code == 2 and "nothing to resume" in resumed.stderr


def test_pause_and_resume_from_the_command_line(h: CliHarness) -> None:
    waiting = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO}", "Hello",
                     "--per-day", "1", "--no-wait")  # fmt: skip
    campaign_id = waiting["campaign"]["id"]
    assert h.json("bulk", "pause", "--sandbox", campaign_id)["campaign"]["state"] == "paused"
    done = h.json("bulk", "resume", "--sandbox", campaign_id)  # waits for the next day
    assert done["campaign"]["state"] == "completed" and done["counts"]["sent"] == 2
    assert _outbound(h) == Counter({AVA: 1, HUGO: 1})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bulk", "send", "--sandbox", "Hi"], "Say who to text"),
        (["bulk", "send", "--sandbox", "--contacts", AVA, "Hi {first_name"], "Unclosed"),
        (["bulk", "send", "--sandbox", "--csv", "missing.csv", "Hi"], "Can't read"),
    ],
)
def test_usage_errors_exit_2_with_one_line(h: CliHarness, args: list[str], message: str) -> None:
    result = h.run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("verb", ["status", "report", "pause", "resume", "cancel"])
def test_an_unknown_campaign_id_exits_1_like_any_unknown_id(h: CliHarness, verb: str) -> None:
    result = h.run("bulk", verb, "--sandbox", "cmp_nope")
    assert result.exit_code == 1, result.output
    assert "No campaign 'cmp_nope'" in result.stderr and "bulk status" in result.stderr
    as_json = h.run("bulk", verb, "--sandbox", "cmp_nope", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "campaign_not_found"


def test_a_template_given_as_text_and_with_file_is_refused_naming_both(h: CliHarness) -> None:
    (h.tmp / "msg.txt").write_text("From the file\n", encoding="utf-8")
    result = h.run("bulk", "send", "--sandbox", "--contacts", AVA, "Hi",
                   "--file", str(h.tmp / "msg.txt"))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "TEMPLATE argument" in result.stderr and "--file" in result.stderr
    assert _outbound(h) == Counter() and h.json("bulk", "status", "--sandbox") == []


def test_a_template_file_is_read_as_utf8_without_its_final_newline(h: CliHarness) -> None:
    (h.tmp / "msg.txt").write_text("Café {first_name|there}\n", encoding="utf-8")
    out = h.json("bulk", "send", "--sandbox", "--contacts", AVA,
                 "--file", str(h.tmp / "msg.txt"), "--dry-run")  # fmt: skip
    assert [x["text"] for x in out["samples"]] == ["Café Ava"]
    (h.tmp / "latin1.txt").write_bytes(b"Caf\xe9 {first_name}\n")
    bad = h.run("bulk", "send", "--sandbox", "--contacts", AVA, "--file", str(h.tmp / "latin1.txt"))
    assert bad.exit_code == 2 and "latin1.txt is not UTF-8" in bad.stderr


def test_a_csv_that_is_not_utf8_is_named_with_what_to_do(h: CliHarness) -> None:
    path = h.tmp / "latin1.csv"
    path.write_bytes(b"phone,first_name\n+14155550100,Ren\xe9\n")
    for extra in ([], ["--dry-run"]):
        result = h.run("bulk", "send", "--sandbox", "--csv", str(path), "Hi", *extra)
        assert result.exit_code == 2, result.output
        assert f"{path} is not UTF-8" in result.stderr and "CSV UTF-8" in result.stderr
        assert "codec" not in result.output and "0xe9" not in result.output
    assert _outbound(h) == Counter() and h.json("bulk", "status", "--sandbox") == []


def test_counts_in_words_use_singulars_and_thousands_separators(h: CliHarness) -> None:
    one = h.run("bulk", "send", "--sandbox", "--contacts", AVA, "Hello")
    assert "1 recipient:" in one.stdout and "1 recipients" not in one.output
    assert "1 recipient. If this stops" in one.stderr
    rows = [["", f"+1415555{n:04d}", "x"] for n in range(1050)]
    path = write_csv(h.tmp / "big.csv", ["contact_id", "phone", "First Name"], rows)
    many = h.run("bulk", "send", "--sandbox", "--csv", str(path), "Hi", "--dry-run")
    assert many.exit_code == 0, many.output
    assert "1,050 recipients" in many.stdout and "1,050 would be texted" in many.stdout
    assert "1,050 parts" in many.stdout


@pytest.mark.parametrize("verb", ["pause", "resume", "cancel"])
def test_every_campaign_command_has_examples_in_its_help(h: CliHarness, verb: str) -> None:
    shown = h.run("bulk", verb, "--help").stdout
    assert "Examples:" in shown and f"ghl-sms bulk {verb} cmp_" in shown


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (["--tag", "no-such-tag"], "No contact in this location has the tag 'no-such-tag'"),
        (["--csv", "empty.csv"], "empty.csv is empty"),
        (["--csv", "header.csv"], "header.csv has a header row but no recipients"),
        (["--contacts", " , "], "No contact ids were given"),
        (["--contacts-file", "ids.txt"], "No contact ids were given"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_an_empty_recipient_list_is_a_usage_error_not_a_completed_campaign(
    h: CliHarness, source: list[str], message: str, dry_run: bool
) -> None:
    (h.tmp / "empty.csv").write_text("", encoding="utf-8")
    (h.tmp / "header.csv").write_text("phone,first_name\n\n", encoding="utf-8")
    (h.tmp / "ids.txt").write_text("# nobody yet\n\n", encoding="utf-8")
    args = [a if not a.endswith((".csv", ".txt")) else str(h.tmp / a) for a in source]
    result = h.run("bulk", "send", "--sandbox", *args, "Hi", *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert h.json("bulk", "status", "--sandbox") == []  # no campaign was left behind


def test_cancel_after_a_killed_run_leaves_no_recipient_sending(h: CliHarness) -> None:
    import sqlite3

    waiting = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO}", "Hello",
                     "--per-day", "1", "--no-wait")  # fmt: skip
    campaign_id = waiting["campaign"]["id"]
    ledger = sqlite3.connect(h.tmp / "sandbox-ledger.db")
    with ledger:  # as a run killed while it held Hugo would leave it
        ledger.execute("UPDATE bulk_recipients SET state = 'sending' WHERE state = 'deferred'")
    ledger.close()
    cancelled = h.json("bulk", "cancel", "--sandbox", campaign_id)
    assert cancelled["counts"]["sending"] == 0
    assert cancelled["counts"] == {**cancelled["counts"], "sent": 1, "skipped": 1}
    assert _outbound(h) == Counter({AVA: 1})


def test_no_wait_in_quiet_hours_returns_at_once_with_everyone_deferred(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ghl_sms._clock import FakeClock

    night = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())  # 21:00 in New York
    h = CliHarness(tmp_path, night)
    rows = [[f"+1212555{1000 + i:04d}", f"P{i}"] for i in range(200)]
    csv_file = write_csv(tmp_path / "list.csv", ["phone", "first_name"], rows)
    started = night.now()
    status = h.json("bulk", "send", "--sandbox", "--csv", str(csv_file), "Hi {first_name}",
                    "--no-wait")  # fmt: skip
    assert night.now() - started < 1.0  # no request paced for a deferral
    assert status["campaign"]["state"] == "running"
    assert status["campaign"]["waiting_reason"] == "quiet_hours"
    assert status["counts"]["deferred"] == 200 and status["counts"]["sent"] == 0
    assert status["next_due_at"].startswith("2026-03-04T13:00")
    assert _outbound(h) == Counter()


def test_status_pause_and_resume_work_while_another_process_sends_with_the_sandbox(
    h: CliHarness,
) -> None:
    """Another `bulk send --sandbox` holds the sandbox file and the location: the
    ledger-only commands still work, and anything that needs the sandbox names it."""
    import os
    import socket
    import sqlite3

    from click.testing import CliRunner

    from ghl_sms.cli import cli
    from ghl_sms.cli._app import AppContext
    from ghl_sms.ops.bulk import Owner, SqliteLeases
    from ghl_sms.sandbox import DEMO_LOCATION_ID

    waiting = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO}", "Hello",
                     "--per-day", "1", "--no-wait")  # fmt: skip
    campaign_id = waiting["campaign"]["id"]
    ledger = sqlite3.connect(h.tmp / "sandbox-ledger.db", isolation_level=None)
    other = Owner(id="other-run", host=socket.gethostname(), pid=os.getppid())
    assert SqliteLeases(ledger).acquire(DEMO_LOCATION_ID, other, h.clock.now(), 3600.0)
    with h.sandbox() as held:  # the other process has the sandbox file, exclusively
        held.store.conn.execute("SELECT count(*) FROM messages").fetchone()

        status = h.json("bulk", "status", "--sandbox", campaign_id)
        assert status["campaign"]["state"] == "running" and status["active"] is True
        assert status["worker"] == f"{socket.gethostname()}:{os.getppid()}"
        assert h.json("bulk", "pause", "--sandbox", campaign_id)["campaign"]["state"] == "paused"
        resumed = h.run("bulk", "resume", "--sandbox", campaign_id, "--no-wait")
        assert resumed.exit_code == 0, resumed.output
        assert f"Another process ({other.describe()}) is sending" in resumed.stdout
        listed = h.run("bulk", "status", "--sandbox")
        assert listed.exit_code == 0 and campaign_id in listed.stdout

        # A command that must open the sandbox says who has it (not `ghl-sms sandbox`).
        app = AppContext(environ={"GHL_SMS_DATA_DIR": str(h.tmp), "HOME": str(h.tmp)},
                         clock=h.clock)  # fmt: skip
        tagged = CliRunner().invoke(
            cli, ["bulk", "send", "--sandbox", "--tag", "vip", "Hi"], obj=app,
            catch_exceptions=False,
        )  # fmt: skip
        assert tagged.exit_code == 2, tagged.output
        assert f"in use by a `ghl-sms bulk` run ({other.describe()})" in tagged.stderr
        assert campaign_id in tagged.stderr
    ledger.close()


def test_status_of_a_stopped_run_says_interrupted_not_sending(h: CliHarness) -> None:
    import sqlite3

    waiting = h.json("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO}", "Hello",
                     "--per-day", "1", "--no-wait")  # fmt: skip
    campaign_id = waiting["campaign"]["id"]
    assert waiting["next_due_at"] and not waiting["next_due_at"].startswith("1970")
    ledger = sqlite3.connect(h.tmp / "sandbox-ledger.db")
    with ledger:
        ledger.execute("UPDATE bulk_recipients SET state = 'sending' WHERE state = 'deferred'")
    ledger.close()
    shown = h.run("bulk", "status", "--sandbox", campaign_id)
    assert "no process is sending" in shown.stdout
    assert "1 interrupted mid-send" in shown.stdout and f"bulk resume {campaign_id}" in shown.stdout
    as_json = h.json("bulk", "status", "--sandbox", campaign_id)
    assert as_json["counts"]["sending"] == 0 and as_json["interrupted"] == 1


def test_max_cost_pauses_the_campaign_and_resume_raises_the_cap(h: CliHarness) -> None:
    chloe = "sbxCtEmailDnd0000001"
    result = h.run("bulk", "send", "--sandbox", "--contacts", f"{AVA},{HUGO},{chloe}",
                   "Hello", "--max-cost", "0.01")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Spend cap reached" in result.stderr
    campaign_id = h.json("bulk", "status", "--sandbox")[0]["id"]
    status = h.json("bulk", "status", "--sandbox", campaign_id)
    assert status["campaign"]["state"] == "paused" and status["counts"]["sent"] == 1
    done = h.json("bulk", "resume", "--sandbox", campaign_id, "--max-cost", "5")
    assert done["campaign"]["state"] == "completed" and done["counts"]["sent"] == 3
    assert sum(_outbound(h).values()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expire-after", "tomorrowish"], "is not a time"),
        (["--expire-after", "2020-01-01T00:00:00Z"], "has already passed"),
        (["--max-failure-rate", "lots"], "--max-failure-rate 'lots' is not a share"),
        (["--max-opt-out-rate", "150%"], "is not a share"),
        (["--max-cost", "0"], "--max-cost"),
    ],
)
def test_bad_guard_options_are_usage_errors(h: CliHarness, args: list[str], message: str) -> None:
    result = h.run("bulk", "send", "--sandbox", "--contacts", AVA, "Hi", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert _outbound(h) == Counter()
