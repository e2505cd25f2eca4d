import contextlib
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner, Result

import ghl_sms.cli._sandbox as sandbox_cli
from ghl_sms._serve import ServeLimits, listen, url_of
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
    assert result.exit_code == 2  # configuration: pick another file, as for a busy port
    assert "is in use by another sandbox" in result.output


# -- where it listens, its database, and the bounds on clients (issue 12 items 4, 5, 18, 25)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["sandbox", *args])


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--db", str(tmp_path / "s.db"), "--port", str(port))
    assert result.exit_code == 2
    assert result.stderr == f"Error: port {port} is in use; pick another with --port\n"
    assert result.stdout == ""


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = invoke("--port", "99999")
    assert result.exit_code == 2
    assert "99999 is not in the range 0<=x<=65535" in result.stderr
    assert "ghl-sms bug" not in result.output


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("not a host!", "'not a host!': not an IP address or host name; use 127.0.0.1"),
        ("192.0.2.1", "192.0.2.1: it is not an address of this machine; use 127.0.0.1"),
    ],
)
def test_a_bad_host_is_one_line_and_exit_2(tmp_path: Path, host: str, says: str) -> None:
    result = invoke("--db", str(tmp_path / "s.db"), "--host", host, "--port", "0")
    assert result.exit_code == 2
    assert says in result.stderr and "--host" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_database_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    result = invoke("--db", str(folder / "s.db"), "--port", "0")
    assert result.exit_code == 2
    assert f"the folder {folder} does not exist" in result.stderr
    assert f"mkdir -p {folder}" in result.stderr
    assert not folder.exists()


def test_a_database_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    result = invoke("--db", str(tmp_path), "--port", "0")
    assert result.exit_code == 2
    assert f"--db {tmp_path} is a folder" in result.stderr


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"these are my notes, not SQLite " * 10)
    result = invoke("--db", str(junk), "--port", "0")
    assert result.exit_code == 2
    assert f"{junk} is not a sandbox database or is damaged" in result.stderr
    assert "ghl-sms bug" not in result.output and "Traceback" not in result.output
    assert junk.read_bytes() == b"these are my notes, not SQLite " * 10


def test_another_programs_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    theirs = tmp_path / "crm.db"
    with contextlib.closing(sqlite3.connect(theirs)) as db, db:
        db.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO leads (name) VALUES ('Ada')")
    before = theirs.read_bytes()
    result = invoke("--db", str(theirs), "--port", "0")
    assert result.exit_code == 2
    assert f"{theirs} is not a sandbox database" in result.stderr
    assert theirs.read_bytes() == before  # no sandbox tables added to someone else's file
    with contextlib.closing(sqlite3.connect(theirs)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"leads"}


@dataclass
class ServeCall:
    limits: ServeLimits | None = None
    url: str = ""


@pytest.fixture
def fake_serve(monkeypatch: pytest.MonkeyPatch) -> ServeCall:
    """Sandbox.serve announces itself and returns at once (no server left running), and
    every bind goes to loopback, whatever --host says."""
    call = ServeCall()

    async def serve(
        self: Sandbox,
        *,
        sock: socket.socket,
        limits: ServeLimits,
        on_ready: Callable[[str], None],
        **_: object,
    ) -> None:
        call.limits, call.url = limits, url_of(sock)
        sock.close()
        on_ready(call.url)

    monkeypatch.setattr(Sandbox, "serve", serve)
    monkeypatch.setattr(sandbox_cli, "listen", lambda host, port: listen("127.0.0.1", 0))
    return call


def test_a_public_bind_warns_that_the_token_and_controls_are_open(
    tmp_path: Path, fake_serve: ServeCall
) -> None:
    result = invoke("--db", str(tmp_path / "s.db"), "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 0.0.0.0" in result.stderr
    assert "token is public" in result.stderr and "/_sandbox/" in result.stderr
    assert f"GHL sandbox listening on {fake_serve.url}" in result.stdout


def test_a_loopback_bind_does_not_warn_and_passes_the_client_bounds(
    tmp_path: Path, fake_serve: ServeCall
) -> None:
    result = invoke(
        "--db", str(tmp_path / "s.db"), "--port", "0", "--header-timeout", "1.5",
        "--body-timeout", "2.5", "--max-connections", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert fake_serve.limits == ServeLimits(header_timeout=1.5, body_timeout=2.5, max_connections=7)


def test_by_default_the_sandbox_takes_a_thousand_connections(
    tmp_path: Path, fake_serve: ServeCall
) -> None:
    assert invoke("--db", str(tmp_path / "s.db"), "--port", "0").exit_code == 0
    assert fake_serve.limits == ServeLimits(
        header_timeout=10.0, body_timeout=30.0, max_connections=1000
    )


@pytest.mark.anyio
async def test_served_the_sandbox_cuts_off_a_client_whose_headers_stall() -> None:
    limits = ServeLimits(header_timeout=0.2, body_timeout=0.2, max_connections=2)
    async with Sandbox() as sb:
        ready = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: sb.serve(port=0, limits=limits, on_ready=lambda _: ready.set()))
            with anyio.fail_after(10):
                await ready.wait()
                host, port = sb.base_url.removeprefix("http://").rsplit(":", 1)
                async with await anyio.connect_tcp(host, int(port)) as client:
                    await client.send(b"GET /_sandbox/state HTTP/1.1\r\nHost: x\r\n")
                    answer = b""
                    with contextlib.suppress(anyio.EndOfStream):
                        while True:
                            answer += await client.receive()
            sb.stop()
    assert answer.startswith(b"HTTP/1.1 408 ")
