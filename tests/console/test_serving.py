"""Who may use the console, and the command's refusals before it serves (no browser)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext
from ghl_sms.console._guard import COOKIE, ConsoleGuard

pytestmark = pytest.mark.anyio
TOKEN = "console-token-0123456789abcdef"


async def _hello(request: Request) -> Response:
    return PlainTextResponse("ok")


def _client(*, token: str | None, local_only: bool, host: str) -> httpx2.AsyncClient:
    app = Starlette(routes=[Route("/", _hello, methods=["GET", "POST"]),
                            Route("/api/x", _hello, methods=["GET", "POST"])])  # fmt: skip
    guard = ConsoleGuard(app, token=token, local_only=local_only)
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=guard), base_url=f"http://{host}")


async def test_on_loopback_only_this_machines_host_and_the_pages_own_changes_pass() -> None:
    async with _client(token=None, local_only=True, host="127.0.0.1:8790") as http:
        assert (await http.get("/api/x")).status_code == 200
        assert (await http.post("/api/x", headers={"X-Console": "1"})).status_code == 200
        refused = await http.post("/api/x")  # a form on another web site can't add the header
        assert refused.status_code == 403 and "X-Console" in refused.json()["error"]["message"]
        rebinding = await http.get("/api/x", headers={"Host": "attacker.example:8790"})
        assert rebinding.status_code == 403
    async with _client(token=None, local_only=True, host="localhost:8790") as http:
        assert (await http.get("/")).status_code == 200


async def test_with_a_token_the_printed_url_sets_a_strict_cookie_and_nothing_else_passes() -> None:
    async with _client(token=TOKEN, local_only=False, host="192.0.2.10:8790") as http:
        assert (await http.get("/api/x")).status_code == 401
        assert (await http.get("/?token=wrong")).status_code == 401
        opened = await http.get(f"/?token={TOKEN}")
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        cookie = opened.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={TOKEN}") and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        with_cookie = await http.get("/api/x", headers={"Cookie": f"{COOKIE}={TOKEN}"})
        assert with_cookie.status_code == 200
        bearer = {"Authorization": f"Bearer {TOKEN}", "X-Console": "1"}
        assert (await http.post("/api/x", headers=bearer)).status_code == 200
        assert TOKEN not in (await http.get("/api/x")).text  # a refusal never shows it


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    environ = {"GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path), **env}
    result = CliRunner().invoke(cli, ["console", *args], obj=AppContext(environ=environ))
    return result.exit_code, result.output


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, busy_port: int) -> None:
    code, output = _run(tmp_path, "--sandbox", "--port", str(busy_port))
    assert code == 2
    assert f"port {busy_port} is in use; pick another with --port" in output
    assert "Traceback" not in output


def test_another_interface_needs_a_token(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--sandbox", "--host", "0.0.0.0", "--port", "0")
    assert code == 2
    assert "without a token" in output and "GHL_SMS_CONSOLE_TOKEN" in output
    code, output = _run(tmp_path, "--sandbox", "--host", "0.0.0.0", "--token", "   ")
    assert code == 2 and "is blank" in output


def test_without_credentials_it_says_to_set_them_or_use_the_sandbox(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--port", "0")
    assert code == 2
    assert "GHL_TOKEN and GHL_LOCATION_ID not set" in output and "--sandbox" in output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--database-url", "postgresql://u@127.0.0.1:1/none"), {}),
        (("--sandbox", "--database-url", "postgresql://u@127.0.0.1:1/none"), {}),
        ((), {"GHL_SMS_DATABASE_URL": "postgresql://u@127.0.0.1:1/none"}),
    ],
)
def test_postgresql_is_refused_in_one_line_before_anything_opens(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    creds = {"GHL_TOKEN": "pit-0123456789", "GHL_LOCATION_ID": "loc1"}
    code, output = _run(tmp_path, *args, "--port", "0", **creds, **env)
    assert code == 2, output
    assert "supports the local ledger file only, not PostgreSQL" in output
    assert "GHL_SMS_DATABASE_URL" in output and "Traceback" not in output
    assert not list(tmp_path.iterdir())  # no ledger file, no sandbox opened


async def test_the_console_core_refuses_a_ledger_on_postgresql(pg_url: str) -> None:
    from ghl_sms.console._core import POSTGRES_UNSUPPORTED, open_core
    from ghl_sms.ops.errors import UsageError
    from support.stack import stack

    async with stack(ledger_path=pg_url) as s:
        with pytest.raises(UsageError) as refused:
            async with open_core(s.service_factory(), clock=s.clock):
                pytest.fail("the console opened on PostgreSQL")
    assert str(refused.value) == POSTGRES_UNSUPPORTED
