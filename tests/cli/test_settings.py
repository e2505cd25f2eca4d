"""Settings at the entry point: .env files as python-dotenv reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghl_sms._settings import Settings
from support.cli import CliHarness, harness


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _settings_from(tmp_path: Path, content: str | bytes) -> Settings:
    env_file = tmp_path / "ghl.env"
    if isinstance(content, bytes):
        env_file.write_bytes(content)
    else:
        env_file.write_text(content, encoding="utf-8")
    return Settings.from_env({}, env_file=env_file)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GHL_LOCATION_ID=loc123 # the dental office", "loc123"),
        ('GHL_LOCATION_ID="loc#123" # a quoted hash is part of the value', "loc#123"),
        ("GHL_LOCATION_ID='loc 123'", "loc 123"),
        ("export GHL_LOCATION_ID=loc123", "loc123"),
        ("GHL_LOCATION_ID = loc123", "loc123"),
        ("GHL_LOCATION_ID=loc#123", "loc#123"),  # no space before '#': not a comment
    ],
)
def test_a_dotenv_line_is_read_as_python_dotenv_reads_it(
    tmp_path: Path, line: str, expected: str
) -> None:
    settings = _settings_from(tmp_path, f"# settings\n{line}\n")
    assert settings.location_id == expected


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / "ghl.env"
    env_file.write_text("GHL_LOCATION_ID=from-file\nGHL_SMS_REGION=ca\n")
    settings = Settings.from_env({"GHL_LOCATION_ID": "from-env"}, env_file=env_file)
    assert settings.location_id == "from-env" and settings.default_region == "CA"


def test_settings_need_no_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./.env here
    settings = Settings.from_env({"GHL_LOCATION_ID": "loc"})
    assert settings.location_id == "loc" and settings.token is None


def test_a_missing_env_file_is_a_usage_error_naming_it(h: CliHarness, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.env"
    result = h.run("numbers", "--sandbox", "--env-file", str(missing))
    assert result.exit_code == 2
    assert f"{missing} does not exist" in result.stderr and "--env-file" in result.stderr


def test_an_env_file_that_is_not_utf8_is_a_usage_error_naming_it(
    h: CliHarness, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.env"
    latin.write_bytes(b"GHL_LOCATION_ID=caf\xe9\n")
    result = h.run("numbers", "--sandbox", "--env-file", str(latin))
    assert result.exit_code == 2
    assert str(latin) in result.stderr and "not UTF-8" in result.stderr
    assert "codec" not in result.stderr


SECRET_PART = "pit-5ecret0a"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (f"{SECRET_PART}\nb7c2", "contains a line break"),
        (f"{SECRET_PART}\r\nb7c2", "contains a line break"),
        (f"{SECRET_PART} b7c2", "contains a space or tab"),
        (f"{SECRET_PART}\tb7c2", "contains a space or tab"),
        (f"{SECRET_PART}\x00b7c2", "control character"),
        (f"{SECRET_PART}\u200bb7c2", "control character"),
        (f"{SECRET_PART}\u2010b7c2", "not plain ASCII"),
    ],
)
@pytest.mark.parametrize(
    "command", [["numbers"], ["doctor"], ["send", "--to", "+14155550100", "Hi"]]
)
def test_a_mangled_token_is_refused_without_echoing_it(
    h: CliHarness, token: str, problem: str, command: list[str]
) -> None:
    env = {"GHL_TOKEN": token, "GHL_LOCATION_ID": "loc"}
    result = h.run(*command, env=env)
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and "Copy it again" in result.stderr
    assert SECRET_PART not in result.output and "b7c2" not in result.output
    as_json = h.run(*command, "--json", env=env)
    assert as_json.exit_code == 2
    assert SECRET_PART not in as_json.output and "b7c2" not in as_json.output


def test_a_token_with_a_mangled_dotenv_line_is_refused_without_echoing_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="contains a line break") as info:
        _settings_from(tmp_path, f'GHL_TOKEN="{SECRET_PART}\nb7c2"\n')
    assert SECRET_PART not in str(info.value)


def test_whitespace_around_a_token_is_trimmed(tmp_path: Path) -> None:
    settings = Settings.from_env({"GHL_TOKEN": f"  {SECRET_PART}\n"})
    assert settings.token is not None and settings.token.reveal() == SECRET_PART
