"""`--database-url` / GHL_SMS_DATABASE_URL and `ghl-sms db`: the ledger on PostgreSQL,
migrated only by `db upgrade`, refused with what to do otherwise; the default install
never imports psycopg."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.ledger import Ledger
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def test_a_database_is_refused_until_db_upgrade_then_sends_are_recorded_there(
    h: CliHarness, pg_empty_url: str
) -> None:
    before = h.json("db", "status", "--database-url", pg_empty_url)
    assert (before["backend"], before["version"], before["current"]) == ("postgres", 0, False)
    refused = h.run("send", "--sandbox", "--database-url", pg_empty_url, "--contact", AVA, "Hi")
    assert refused.exit_code == 2
    assert "ghl-sms db upgrade" in refused.stderr and "Traceback" not in refused.output
    upgraded = h.json("db", "upgrade", "--database-url", pg_empty_url)
    assert upgraded["current"] and upgraded["applied"] == [
        "pg001_ledger_and_campaigns",
        "pg002_lease_epochs",
        "pg003_campaign_send_window",
    ]
    assert h.json("db", "upgrade", "--database-url", pg_empty_url)["applied"] == []  # idempotent
    sent = h.run("send", "--sandbox", "--database-url", pg_empty_url, "--contact", AVA, "Hi")
    assert sent.exit_code == 0, sent.output
    sandbox = h.sandbox()
    location_id = sandbox.location_id
    sandbox.close()
    ledger = Ledger.open(pg_empty_url, FakeClock(0))
    try:
        [record] = list(ledger.search(location_id))
        assert (record.text, record.state) == ("Hi", "sent")
    finally:
        ledger.close()
    assert not (h.tmp / "sandbox-ledger.db").exists()  # nothing went to the file


def test_the_url_from_the_environment_is_used_and_its_password_never_shown(
    h: CliHarness, pg_url: str
) -> None:
    wrong = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@") + "_nope"
    result = h.run("history", "--location", "loc1", env={"GHL_SMS_DATABASE_URL": wrong})
    assert result.exit_code == 2
    assert "s3cret" not in result.output and "***" in result.output
    ok = h.run("db", "status", "--json", env={"GHL_SMS_DATABASE_URL": pg_url})
    assert json.loads(ok.stdout)["current"] is True


def test_a_url_that_is_not_postgres_is_a_usage_error(h: CliHarness) -> None:
    result = h.run("history", "--location", "loc1", "--database-url", "mysql://x/y")
    assert result.exit_code == 2 and "postgresql://" in result.stderr


def test_sqlite_status_and_upgrade_work_on_the_ledger_file(h: CliHarness) -> None:
    status = h.json("db", "status")
    assert status["backend"] == "sqlite" and status["current"] is True
    assert status["version"] == status["latest"] >= 8


def test_without_the_postgres_extra_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['psycopg'] = None\n"  # as if the extra were not installed
        "from ghl_sms.cli import main\n"
        "sys.argv = ['ghl-sms', 'history', '--location', 'loc1', '--database-url',"
        " 'postgresql://nobody@127.0.0.1:1/x']\n"
        "main()\n"
    )
    result = _python(script, tmp_path)
    assert result.returncode == 2
    assert "pip install 'ghl-sms[postgres]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_install_never_imports_psycopg_or_the_job_engine(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import ghl_sms.cli\n"
        "result = CliRunner().invoke(ghl_sms.cli.cli, ['send', '--sandbox', '--to',"
        " '+14155550100', '--transactional', 'Hello'])\n"
        "assert result.exit_code == 0, result.output\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('psycopg', 'psycopg_pool', 'procrastinate'))\n"
        "print(loaded)\n"
    )
    result = _python(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _python(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
