from pathlib import Path

import pytest
from click.testing import CliRunner

from ghl_sms.cli import cli
from ghl_sms.cli._sandbox import default_sandbox_db
from ghl_sms.sandbox import Sandbox


def test_the_sandbox_command_documents_its_options() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--reset", "--burst-limit", "--daily-limit"):
        assert option in result.output
    assert "127.0.0.1" in result.output and "8787" in result.output


def test_the_default_database_lives_in_the_users_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GHL_SMS_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_sandbox_db() == tmp_path / "ghl-sms" / "sandbox.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_sandbox_db() == tmp_path / ".local" / "share" / "ghl-sms" / "sandbox.db"


def test_a_database_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    with Sandbox(db_path=db):
        result = CliRunner().invoke(cli, ["sandbox", "--db", str(db), "--port", "0"])
    assert result.exit_code == 1
    assert "is in use by another sandbox" in result.output
