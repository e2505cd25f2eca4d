"""One value, one source: two recipients (or two texts) are a usage error, never a guess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ghl_sms.cli import cli
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"  # +14155550100
OTHER = "+14155550123"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _messages_sent(h: CliHarness) -> int:
    with h.sandbox() as sandbox:
        return int(sandbox.state()["counts"]["messages"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["send", "--to", OTHER, "--contact", AVA, "Hi"], ["--to", "--contact"]),
        (["send", "--contact", AVA, "--conversation", "c1", "Hi"], ["--contact", "--conversation"]),
        (
            ["send", "--to", OTHER, "--contact", AVA, "--conversation", "c1", "Hi"],
            ["--to", "--contact", "--conversation"],
        ),
        (["thread", "--to", OTHER, "--contact", AVA], ["--to", "--contact"]),
        (["thread", "--to", OTHER, "--conversation", "c1"], ["--to", "--conversation"]),
        (["check", "--to", OTHER, "--contact", AVA], ["--to", "--contact"]),
    ],
)
def test_two_recipients_are_a_usage_error_naming_both(
    h: CliHarness, args: list[str], named: list[str]
) -> None:
    result = h.run(*args, "--sandbox")
    assert result.exit_code == 2, result.output
    first_line = result.stderr.splitlines()[0]
    for option in named:
        assert option in first_line
    assert "exactly one" in first_line
    assert _messages_sent(h) == 0


def test_the_text_given_as_argument_and_file_is_a_usage_error(
    h: CliHarness, tmp_path: Path
) -> None:
    text_file = tmp_path / "text.txt"
    text_file.write_text("From the file")
    result = h.run("send", "--sandbox", "--to", OTHER, "--file", str(text_file), "Argument")
    assert result.exit_code == 2
    assert "--file" in result.stderr and "argument" in result.stderr
    assert _messages_sent(h) == 0


@pytest.mark.parametrize("option", [["--base-url", "https://example.com"], ["--location", "x"]])
def test_sandbox_with_a_ghl_address_or_location_is_a_usage_error(
    h: CliHarness, option: list[str]
) -> None:
    result = h.run("numbers", "--sandbox", *option)
    assert result.exit_code == 2
    assert "--sandbox" in result.stderr and option[0] in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["inbox", "--watch", "--cursor", "abc"], "--cursor"),
        (["inbox", "--watch", "--unread"], "--unread"),
        (["inbox", "--interval", "5"], "--interval"),
        (["status", "m1", "--interval", "5"], "--interval"),
    ],
)
def test_an_option_that_would_be_ignored_is_a_usage_error(
    h: CliHarness, args: list[str], named: str
) -> None:
    result = h.run(*args, "--sandbox")
    assert result.exit_code == 2
    assert f"{named} has no effect" in result.stderr and "--watch" in result.stderr


def test_the_result_shows_the_number_actually_texted(h: CliHarness) -> None:
    result = h.run("send", "--sandbox", "--contact", AVA, "Hello Ava")
    assert result.exit_code == 0, result.output
    assert "Ava Reed (+14155550100)" in result.stdout
    scheduled = h.run("send", "--sandbox", "--contact", AVA, "Later", "--at", "2h")
    assert "Ava Reed (+14155550100)" in scheduled.stdout


def _send_with_stdin(h: CliHarness, stdin: str | bytes, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["send", "--sandbox", "--contact", AVA, *args], input=stdin, obj=h.app(),
        catch_exceptions=False,
    )  # fmt: skip


def test_a_dash_reads_the_text_from_standard_input(h: CliHarness) -> None:
    result = _send_with_stdin(h, "From stdin\n", "-", "--json")
    assert result.exit_code == 0, result.output
    message_id = json.loads(result.stdout)["message_id"]
    with h.sandbox() as sandbox:
        message = sandbox.message(message_id)
    assert message is not None and message["body"] == "From stdin"


def test_file_dash_reads_standard_input_too(h: CliHarness) -> None:
    result = _send_with_stdin(h, "Piped", "--file", "-", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "dry_run"


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [("", "is empty"), ("  \n", "is empty"), (b"caf\xe9", "not UTF-8")],
)
def test_unreadable_or_empty_standard_input_is_a_usage_error(
    h: CliHarness, stdin: str | bytes, expected: str
) -> None:
    result = _send_with_stdin(h, stdin, "-")
    assert result.exit_code == 2
    assert "standard input" in result.stderr and expected in result.stderr
    assert _messages_sent(h) == 0


def test_a_text_file_that_is_not_utf8_names_the_file(h: CliHarness, tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"Caf\xe9 ouvert")
    result = h.run("send", "--sandbox", "--to", OTHER, "--file", str(latin))
    assert result.exit_code == 2
    assert str(latin) in result.stderr and "not UTF-8" in result.stderr
    assert "Save it as UTF-8" in result.stderr
    missing = h.run("send", "--sandbox", "--to", OTHER, "--file", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "nope.txt" in missing.stderr
