"""PostgreSQL mode failing the way a user meets it: each a one-line error with what to
do, never a traceback, and never the password of the database URL."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ghl_sms.cli._errors import CommandError, scrub_secrets
from ghl_sms.cli._worker import OneLineFormatter
from support.cli import CliHarness, harness

SECRET = "S3CRETpw"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def _with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://postgres:{SECRET}@127.0.0.1:5999/x",
        f'in URI: "postgresql://postgres:{SECRET}@[::1/x"',  # libpq quotes what it can't parse
        f"postgresql://:{SECRET}@127.0.0.1/db",  # no user name
        f"postgresql://u:{SECRET}@x/y@127.0.0.1/db",  # an unescaped @ and / in it
        f"postgresql:///db?host=127.0.0.1&password={SECRET}&sslmode=off",
        f"host=127.0.0.1 PASSWORD={SECRET} dbname=db",
    ],
)
def test_every_shape_of_password_is_hidden_from_errors(text: str) -> None:
    error = CommandError(f"Cannot connect to {text}", hint=f"check {text}")
    assert SECRET not in error.message and SECRET not in str(error.hint)
    assert "***" in error.message


def test_urls_without_a_password_are_shown_as_they_are() -> None:
    for text in ("postgresql://sms@db.internal:5432/sms", "see https://example.com/a:b@c"):
        assert scrub_secrets(text) == text


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://", "names no server and no database"),
        ("postgresql:/x", "must be a postgresql:// URL"),
        (f"mysql://u:{SECRET}@h/db", "must be a postgresql:// URL"),
        (f"postgresql://u:{SECRET[:3]}@{SECRET[3:]}@127.0.0.1/db", "as %40"),
    ],
)
def test_a_malformed_url_is_refused_before_connecting(h: CliHarness, url: str, says: str) -> None:
    for args in (("db", "status"), ("history", "--location", "loc1")):
        result = h.run(*args, "--database-url", url)
        assert result.exit_code == 2, result.output
        assert says in result.stderr and SECRET[3:] not in result.output
        assert "Traceback" not in result.output


def test_an_unparseable_url_never_echoes_its_password(h: CliHarness) -> None:
    result = h.run("db", "status", "--database-url", f"postgresql://postgres:{SECRET}@[::1/x")
    assert result.exit_code == 2
    assert "Cannot connect" in result.stderr and SECRET not in result.output


def test_db_status_hides_a_password_given_as_a_parameter(h: CliHarness, pg_url: str) -> None:
    url = f"{pg_url}?password={SECRET}"
    text = h.run("db", "status", "--database-url", url)
    as_json = h.json("db", "status", "--database-url", url)
    assert text.exit_code == 0, text.output
    assert SECRET not in text.output and "password=***" in text.stdout
    assert as_json["database"].endswith("password=***")


def test_bulk_send_without_the_job_queue_says_to_upgrade_and_creates_nothing(
    h: CliHarness, pg_url: str
) -> None:
    # pg_url has our tables but not procrastinate's: a `db upgrade` cut short.
    url = _with_password(pg_url)
    args = ("--sandbox", "--database-url", url)
    result = h.run("bulk", "send", *args, "--tag", "reachable", "--transactional", "Hi")
    assert result.exit_code == 2, result.output
    assert "no job queue" in result.stderr and "ghl-sms db upgrade" in result.stderr
    assert SECRET not in result.output and "Traceback" not in result.output
    import psycopg

    with psycopg.connect(pg_url) as db:
        assert db.execute("SELECT count(*) FROM bulk_campaigns").fetchone() == (0,)


def test_worker_refuses_a_busy_metrics_port_in_one_line(h: CliHarness) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = h.run(
            "worker", "--metrics-port", str(port),
            env={"GHL_SMS_DATABASE_URL": f"postgresql://u:{SECRET}@127.0.0.1:1/x",
                 "GHL_TOKEN": "pit-test", "GHL_LOCATION_ID": "loc1"},
        )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"--metrics-port {port}" in result.stderr and "Traceback" not in result.output


def test_worker_without_any_credentials_refuses_to_start(h: CliHarness) -> None:
    result = h.run("worker", env={"GHL_SMS_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert result.exit_code == 2, result.output
    assert "no credentials for any sub-account" in result.stderr
    assert "GHL_SMS_CONFIG" in result.stderr and "ghl-sms login" in result.stderr


def test_worker_with_sandbox_says_the_sandbox_is_the_problem(h: CliHarness) -> None:
    result = h.run(
        "worker", "--sandbox", env={"GHL_SMS_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"}
    )
    assert result.exit_code == 2 and "embedded sandbox" in result.stderr


def test_the_worker_log_is_one_line_an_error_without_traceback_or_password() -> None:
    try:
        raise ExceptionGroup("group", [OSError(f"in URI: postgresql://u:{SECRET}@h/d\nmore")])
    except ExceptionGroup:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "job failed", None,
                                   sys.exc_info())  # fmt: skip
    line = OneLineFormatter().format(record)
    assert "\n" not in line and SECRET not in line
    assert line.endswith("job failed (OSError: in URI: postgresql://u:***@h/d)")
    assert "Traceback" in OneLineFormatter(tracebacks=True).format(record)


def test_a_worker_whose_connection_is_terminated_stops_with_exit_1(
    h: CliHarness, pg_url: str, tmp_path: Path
) -> None:
    import psycopg

    assert h.run("db", "upgrade", "--database-url", pg_url).exit_code == 0  # the job queue
    url = _with_password(pg_url)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GHL_SMS_DATA_DIR": str(tmp_path),
        "GHL_SMS_DATABASE_URL": url,
        "GHL_BASE_URL": "http://127.0.0.1:1",
        "GHL_TOKEN": "pit-test",
        "GHL_LOCATION_ID": "loc1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", "from ghl_sms.cli import main; main()", "worker",
         "--stall-timeout", "3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert worker.stderr is not None
        ready = worker.stderr.readline()
        assert '"ready": true' in ready, ready
        name = pg_url.rsplit("/", 1)[1]
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 1, err
    assert "Lost the connection to the database" in err and "stopped" in err
    assert "Traceback" not in err and SECRET not in err
