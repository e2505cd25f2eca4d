"""The everyday commands through click's runner, against a sandbox file."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import click
import pytest
from click.testing import CliRunner

from ghl_sms.cli import cli
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
BEN = "sbxCtSmsDnd000000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def test_send_prints_what_went_out_and_exits_0(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", AVA, "Hello Ava")
    assert result.exit_code == 0, result.output
    assert "Sent SMS" in result.stdout and "Ava Reed" in result.stdout


def test_send_json_has_the_documented_fields(h: CliHarness) -> None:
    out = h.json("send", "--sandbox", "--to", "+14155550100", "Hello")
    assert out["outcome"] == "sent"
    for field in ("message_id", "conversation_id", "contact_id", "to", "from_number", "status",
                  "encoding", "segments", "verdict", "notes", "idempotency_key"):  # fmt: skip
        assert field in out
    assert out["to"] == "+14155550100" and out["from_number"] == "+14155550190"


def test_running_the_same_send_twice_texts_once(h: CliHarness) -> None:
    first = h.json("send", "--sandbox", "--contact", AVA, "Once only")
    second = h.json("send", "--sandbox", "--contact", AVA, "Once only")
    assert second["outcome"] == "duplicate" and second["message_id"] == first["message_id"]


def test_a_blocked_send_exits_3_with_the_reason(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", BEN, "Promo")
    assert result.exit_code == 3
    assert "Do Not Disturb" in result.stderr
    assert "Traceback" not in result.output


def test_a_blocked_send_in_json_mode_still_prints_json(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", BEN, "Promo", "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "blocked" and "Do Not Disturb" in error["message"]
    assert error["notes"][0]["code"] == "sms_dnd"


def test_a_repeat_under_another_key_exits_3_and_says_how_to_force_it(h: CliHarness) -> None:
    assert h.run("send", "--sandbox", "--contact", AVA, "Hi", "--key", "a").exit_code == 0
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--key", "b")
    assert result.exit_code == 3 and "--allow-repeat" in result.stderr


def test_missing_configuration_names_the_variable_and_the_sandbox(h: CliHarness) -> None:
    result = h.run("send", "--to", "+14155550100", "Hello")
    assert result.exit_code == 2
    assert "GHL_TOKEN" in result.stderr and "--sandbox" in result.stderr
    result = h.run("send", "--to", "+14155550100", "Hi", env={"GHL_TOKEN": "pit-x"})
    assert result.exit_code == 2 and "GHL_LOCATION_ID" in result.stderr


def test_settings_come_from_a_dotenv_file(h: CliHarness, tmp_path: Path) -> None:
    env_file = tmp_path / "ghl.env"
    env_file.write_text('GHL_TOKEN="pit-from-file"\n# comment\nexport GHL_LOCATION_ID=loc\n')
    app = h.app()
    settings = app.settings(env_file=env_file)
    assert settings.token is not None and settings.token.reveal() == "pit-from-file"
    assert settings.location_id == "loc"
    assert "pit-from-file" not in repr(settings)


def test_usage_errors_exit_2(h: CliHarness) -> None:
    assert h.run("send", "--sandbox", "Hello").exit_code == 2
    result = h.run("send", "--sandbox", "--contact", AVA, "--at", "tomorrow", "x")
    assert result.exit_code == 2 and "ISO-8601" in result.stderr
    assert (
        h.run("send", "--sandbox", "--contact", AVA, "--from", "+12025550100", "x").exit_code == 2
    )


def test_schedule_list_and_cancel(h: CliHarness) -> None:
    scheduled = h.json("send", "--sandbox", "--contact", AVA, "--at", "2h", "Later")
    assert scheduled["outcome"] == "scheduled"
    listed = h.json("cancel", "--sandbox")
    assert [m["message_id"] for m in listed] == [scheduled["message_id"]]
    result = h.run("cancel", "--sandbox", scheduled["message_id"])
    assert result.exit_code == 0 and "Cancelled" in result.stdout
    assert h.json("cancel", "--sandbox") == []
    again = h.run("cancel", "--sandbox", scheduled["message_id"])
    assert again.exit_code == 1 and "is not scheduled" in again.stderr


def test_status_of_a_failed_message_explains_it_and_exits_1(h: CliHarness) -> None:
    sent = h.json("send", "--sandbox", "--contact", "sbxCtLandline0000001", "Hi")
    h.clock.advance(60)
    result = h.run("status", "--sandbox", sent["message_id"])
    assert result.exit_code == 1
    assert "30006" in result.stdout and "What to do" in result.stdout


def test_thread_inbox_check_and_numbers(h: CliHarness) -> None:
    h.run("send", "--sandbox", "--contact", AVA, "Hello thread")
    thread = h.json("thread", "--sandbox", "--contact", AVA)
    assert [m["body"] for m in thread["messages"]] == ["Hello thread"]
    inbox = h.json("inbox", "--sandbox")
    assert inbox["conversations"][0]["contact_id"] == AVA
    check = h.run("check", "--sandbox", "--contact", BEN)
    assert check.exit_code == 3 and "blocked" in check.stdout
    numbers = h.json("numbers", "--sandbox")
    assert [n["is_default"] for n in numbers] == [True, False]


def test_sandbox_state_persists_between_runs(h: CliHarness) -> None:
    sent = h.json("send", "--sandbox", "--contact", AVA, "Persisted")
    status = h.json("status", "--sandbox", sent["message_id"])
    assert status["body"] == "Persisted"


def test_every_command_has_help_with_an_example() -> None:
    from click.testing import CliRunner

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, name
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output or isinstance(command, click.Group), name


def test_inbox_watch_prints_a_reply_and_records_a_stop(h: CliHarness) -> None:
    h.run("send", "--sandbox", "--contact", AVA, "See you at 7?")
    h.clock.advance(30)
    with h.sandbox() as sandbox:
        anyio.run(sandbox.reply, AVA, "STOP")
    result = h.run("inbox", "--sandbox", "--watch", "--max-polls", "2", "--interval", "5")
    assert result.exit_code == 0, result.output
    assert "STOP" in result.stdout and "opted out" in result.stdout
    blocked = h.run("send", "--sandbox", "--contact", AVA, "Promo")
    assert blocked.exit_code == 3


def test_status_watch_follows_a_message_until_it_is_final(h: CliHarness) -> None:
    sent = h.json("send", "--sandbox", "--contact", AVA, "Watch me")
    result = h.run("status", "--sandbox", "--watch", "--json", sent["message_id"])
    assert result.exit_code == 0, result.output
    statuses = [json.loads(line)["status"] for line in result.stdout.splitlines()]
    assert statuses[0] == "pending" and statuses[-1] == "delivered"


def test_a_sandbox_file_held_by_another_process_gets_a_clear_error(
    h: CliHarness, tmp_path: Path
) -> None:
    from ghl_sms.sandbox import Sandbox

    app = h.app()
    app.sandbox_factory = None  # the real default: the sandbox file in the data dir
    with Sandbox(db_path=tmp_path / "sandbox.db"):
        result = CliRunner().invoke(cli, ["numbers", "--sandbox"], obj=app)
    assert result.exit_code == 2
    assert "in use by another process" in result.stderr and "Hint:" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unexpected_error_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ghl_sms.cli as cli_module

    def boom(**kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli_module, "cli", boom)
    monkeypatch.delenv("GHL_SMS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: kaboom" in err and "Traceback" not in err


def test_cancelling_a_message_that_is_not_scheduled_says_so(h: CliHarness) -> None:
    sent = h.json("send", "--sandbox", "--contact", AVA, "Already out")
    result = h.run("cancel", "--sandbox", sent["message_id"])
    assert result.exit_code == 1
    assert f"Message {sent['message_id']} is not scheduled" in result.stderr
    assert "nothing changed" in result.stderr
    assert f"ghl-sms status {sent['message_id']}" in result.stderr
    scheduled = h.json("send", "--sandbox", "--contact", AVA, "Later", "--at", "2h")
    assert h.run("cancel", "--sandbox", scheduled["message_id"]).exit_code == 0
    again = h.run("cancel", "--sandbox", scheduled["message_id"], "--json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["error"]["code"] == "not_scheduled"


# What needs no --sandbox: the demo runs one itself, preview asks GHL nothing, sandbox
# serves one, webhooks receives GHL's calls, completion prints a shell script.
_NO_GHL_CALLS = {"db", "demo", "preview", "sandbox", "webhooks", "completion"}
# Subcommands that only edit local files (the sub-account profiles).
_LOCAL_SUBCOMMANDS = {("locations", "add"), ("locations", "remove"), ("locations", "default")}


def test_every_command_that_talks_to_ghl_takes_sandbox() -> None:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        if name in _NO_GHL_CALLS:
            continue
        commands = (
            list(command.commands.values()) if isinstance(command, click.Group) else [command]
        )
        for each in commands:
            if (name, each.name) in _LOCAL_SUBCOMMANDS:
                continue
            options = {opt for param in each.params for opt in param.opts}
            assert "--sandbox" in options, f"{name} {each.name}"
