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
