"""One error path: README exit codes for every command, JSON errors under --json, Ctrl-C 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ghl_sms.ops.service import SmsService
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


# (arguments, exit code, JSON code): one bad input per command that talks to GHL.
BAD_INPUTS = [
    (["send", "--to", "+14155550100", "--contact", AVA, "Hi"], 2, "usage"),
    (["send", "--contact", AVA, "Hi", "--at", "9999999d"], 2, "usage"),
    (["send", "--contact", "nope", "Hi"], 1, "recipient_not_found"),
    (["send", "--contact", "sbxCtSmsDnd000000001", "Promo"], 3, "blocked"),
    (["send", "--bogus-option"], 2, "usage"),
    (["cancel", "nope"], 1, "not_scheduled"),
    (["status", "nope"], 1, "not_found"),
    (["thread", "--contact", "nope"], 1, "recipient_not_found"),
    (["thread", "--to", "+14155550999"], 1, "recipient_not_found"),
    (["inbox", "--watch", "--cursor", "x"], 2, "usage"),
    (["check", "--contact", "nope"], 1, "recipient_not_found"),
    (["numbers", "--base-url", "https://example.com"], 2, "usage"),
    (["no-such-command"], 2, "usage"),
    (["inbox", "--cursor", "garbage"], 2, "usage"),
    (["status", ""], 2, "usage"),
    (["cancel", " "], 2, "usage"),
    (["thread", "--conversation", ""], 2, "usage"),
    (["send", "--contact", AVA, "Hi", "--at", ""], 2, "usage"),
]


@pytest.mark.parametrize(("args", "exit_code", "code"), BAD_INPUTS)
def test_each_bad_input_has_its_exit_code_and_a_json_error(
    h: CliHarness, args: list[str], exit_code: int, code: str | None
) -> None:
    text = h.run(*args, "--sandbox")
    assert text.exit_code == exit_code, text.output
    assert text.stderr.startswith(("Error: ", "Usage: ")), text.stderr
    assert "Traceback" not in text.output and "bug" not in text.output
    assert "could not convert" not in text.output and "must not be empty" not in text.output

    as_json = h.run(*args, "--sandbox", "--json")
    assert as_json.exit_code == exit_code
    error = json.loads(as_json.stdout)["error"]
    assert set(error) >= {"code", "message", "hint"}
    assert error["message"] and "Traceback" not in error["message"]
    if code is not None:
        assert error["code"] == code


def test_bulk_errors_go_through_the_same_path(h: CliHarness) -> None:
    text = h.run("bulk", "status", "no-such-campaign", "--sandbox")
    as_json = h.run("bulk", "status", "no-such-campaign", "--sandbox", "--json")
    assert text.exit_code == as_json.exit_code != 0
    assert "no-such-campaign" in json.loads(as_json.stdout)["error"]["message"]


def test_a_blocked_send_s_json_error_carries_the_preflight_notes(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", "sbxCtSmsDnd000000001", "Hi", "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert "sms_dnd" in [note["code"] for note in error["notes"]]


def test_a_usage_error_from_click_points_at_the_command_s_help(h: CliHarness) -> None:
    result = h.run("status", "--json")  # the message id is missing
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "MESSAGE_ID" in error["message"] and "ghl-sms status --help" in error["hint"]


def test_ctrl_c_during_a_send_exits_130_saying_nothing_is_texted_twice(
    h: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted(self: SmsService, request: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SmsService, "send", interrupted)
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi")
    assert result.exit_code == 130
    assert "Ctrl-C" in result.stderr and "twice" in result.stderr
    as_json = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--json")
    assert as_json.exit_code == 130
    assert json.loads(as_json.stdout)["error"]["code"] == "interrupted"


def test_ctrl_c_ends_a_watch_with_130_and_no_error(
    h: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted_sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(h.clock, "sleep", interrupted_sleep)
    result = h.run("inbox", "--sandbox", "--watch", "--interval", "5")
    assert result.exit_code == 130
    assert "Error" not in result.output


def test_the_last_resort_is_json_too_under_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ghl_sms.cli as cli_module

    def boom(**kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli_module, "cli", boom)
    monkeypatch.setattr(sys, "argv", ["ghl-sms", "numbers", "--json"])
    monkeypatch.delenv("GHL_SMS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "bug"


def _installed_cli() -> Path:
    return Path(sys.executable).with_name("ghl-sms")


@pytest.mark.skipif(not _installed_cli().exists(), reason="console script not installed")
def test_the_installed_command_exits_130_on_sigint(tmp_path: Path) -> None:
    env = {**os.environ, "GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    env.pop("GHL_SMS_DEBUG", None)
    with subprocess.Popen(
        [str(_installed_cli()), "inbox", "--sandbox", "--watch", "--interval", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as process:
        assert process.stdout is not None
        try:
            assert "Watching" in process.stdout.readline()  # it is in its loop now
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)  # generous: a loaded CI machine
        finally:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr


@pytest.mark.skipif(not _installed_cli().exists(), reason="console script not installed")
def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`ghl-sms sandbox | head`: the pipe closes before the ready lines are written (inside
    the server's task group, where click's own broken-pipe handling does not reach)."""
    env = {**os.environ, "GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    env.pop("GHL_SMS_DEBUG", None)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte
    try:
        process = subprocess.run(
            [str(_installed_cli()), "sandbox", "--port", "0", "--db", ":memory:"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert process.returncode == 1, process.stderr
    assert process.stderr == ""
