"""One value, one source: two recipients (or two texts) are a usage error, never a guess."""

from __future__ import annotations

from pathlib import Path

import pytest

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
