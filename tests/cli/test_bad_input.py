"""Ordinary bad input gets its exit code and a message that names the fix, never "a bug"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ghl_sms.ops._when import MAX_AHEAD
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _assert_clear(result_stderr: str) -> None:
    assert "Traceback" not in result_stderr
    assert "bug" not in result_stderr
    assert "Error" not in result_stderr.split(":", 1)[1]  # no Python exception names


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("9999999d", "too far ahead"),
        ("9" * 400 + "d", "too far ahead"),
        ("366d", "too far ahead"),
        ("9999-12-31T23:59:59-05:00", "too far ahead"),
        ("tomorrow", "is not a time"),
        ("2026-12-01T09:30:00", "no UTC offset"),
        ("0s", "not in the future"),
    ],
)
def test_an_unusable_send_time_is_a_usage_error_saying_what_works(
    h: CliHarness, at: str, expected: str
) -> None:
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--at", at)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "--at" in result.stderr
    assert "e.g." in result.stderr or "such as" in result.stderr  # an example that works
    _assert_clear(result.stderr)
    assert len(result.stderr) < 400


def test_a_year_ahead_is_the_limit(h: CliHarness) -> None:
    assert MAX_AHEAD.days == 365
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--at", "365d", "--dry-run")
    assert result.exit_code == 0, result.output


def test_a_data_dir_that_is_a_file_names_the_path(h: CliHarness, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file")
    result = h.run("numbers", "--sandbox", env={"GHL_SMS_DATA_DIR": str(not_a_dir)})
    assert result.exit_code == 2
    assert f"{not_a_dir} is a file, not a folder" in result.stderr
    assert "GHL_SMS_DATA_DIR" in result.stderr
    assert not_a_dir.read_text() == "I am a file"


def test_a_data_dir_that_cannot_be_written_names_the_path(
    h: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root may write anywhere: let the check see what a user would
        real_access = os.access
        monkeypatch.setattr(
            "ghl_sms.cli._storage.os.access",
            lambda path, mode: False if Path(path) == locked else real_access(path, mode),
        )
    result = h.run("numbers", "--sandbox", env={"GHL_SMS_DATA_DIR": str(locked)})
    assert result.exit_code == 2
    assert str(locked) in result.stderr and "cannot be written" in result.stderr


def test_a_ledger_path_inside_a_file_names_the_path(h: CliHarness, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    result = h.run("numbers", "--sandbox", "--ledger", str(a_file / "ledger.db"))
    assert result.exit_code == 2
    assert f"{a_file} is a file" in result.stderr and "--ledger" in result.stderr


def test_a_damaged_ledger_is_refused_naming_it_and_left_untouched(
    h: CliHarness, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.db"
    garbage = bytes(range(256)) * 16
    ledger.write_bytes(garbage)
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--ledger", str(ledger))
    assert result.exit_code == 2
    assert str(ledger) in result.stderr
    assert "not a ghl-sms ledger or is damaged" in result.stderr
    assert "Move it aside" in result.stderr and "--ledger" in result.stderr
    assert ledger.read_bytes() == garbage
    with h.sandbox() as sandbox:
        assert sandbox.state()["counts"]["messages"] == 0


def test_a_damaged_sandbox_file_is_refused_naming_it(h: CliHarness, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ghl_sms.cli import cli

    (tmp_path / "sandbox.db").write_bytes(b"not sqlite at all" * 100)
    app = h.app()
    app.sandbox_factory = None  # the real default: the sandbox file in the data dir
    result = CliRunner().invoke(cli, ["numbers", "--sandbox"], obj=app)
    assert result.exit_code == 2
    assert f"{tmp_path / 'sandbox.db'}" in result.stderr and "damaged" in result.stderr
    assert (tmp_path / "sandbox.db").read_bytes() == b"not sqlite at all" * 100


@pytest.mark.parametrize("text", ["9999999d", "1" * 5000 + "s", "99999999999999999999h"])
def test_parse_when_never_overflows_it_says_too_far(text: str) -> None:
    from datetime import UTC, datetime

    from ghl_sms.ops._when import parse_when

    with pytest.raises(ValueError, match="too far ahead") as info:
        parse_when(text, datetime(2026, 3, 4, 18, tzinfo=UTC))
    assert len(str(info.value)) < 300  # the absurd input is cut short, not echoed in full


def test_an_empty_ledger_file_is_refused_not_recreated(h: CliHarness, tmp_path: Path) -> None:
    ledger = tmp_path / "empty.db"
    ledger.touch()
    result = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--ledger", str(ledger))
    assert result.exit_code == 2
    assert str(ledger) in result.stderr and "--ledger" in result.stderr
    assert ledger.read_bytes() == b""
    as_json = h.run("send", "--sandbox", "--contact", AVA, "Hi", "--ledger", str(ledger), "--json")
    assert json.loads(as_json.stdout)["error"]["code"] == "ledger_unusable"
