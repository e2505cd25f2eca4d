"""`ghl-sms mcp --sandbox` as a real process: over stdio, and over HTTP behind a token."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import ByteReceiveStream
from click.testing import CliRunner
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from ghl_sms.cli import cli
from ghl_sms.mcp_server.http import BearerTokenMiddleware, is_loopback
from support.cli import harness

AVA = "sbxCtReachable000001"
TOKEN = "test-token-0123456789"


def ghl_sms() -> list[str]:
    """The installed console script, as an MCP client would start it."""
    script = Path(sys.executable).parent / "ghl-sms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ghl_sms"]


@pytest.mark.anyio
async def test_ghl_sms_mcp_sandbox_serves_the_tools_over_stdio(tmp_path: Path) -> None:
    command, *args = ghl_sms()
    params = StdioServerParameters(
        command=command,
        args=[*args, "mcp", "--sandbox"],
        env={"GHL_SMS_DATA_DIR": str(tmp_path)},
        cwd=str(tmp_path),
    )
    with anyio.fail_after(30):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert len(names) == 11 and "sms_send" in names
            numbers = await client.call_tool("sms_numbers", {})
            assert numbers.structured_content["numbers"][0]["is_default"] is True
            # Transactional: the server's clock is real, and quiet hours would refuse
            # a marketing text at night where Ava lives.
            arguments: dict[str, Any] = {
                "text": "Hello from stdio",
                "contact_id": AVA,
                "transactional": True,
            }
            refused = await client.call_tool("sms_send", arguments)
            assert refused.is_error and "confirmed=true" in refused.content[0].text
            sent = await client.call_tool("sms_send", {**arguments, "confirmed": True})
            assert sent.structured_content["outcome"] == "sent"
            again = await client.call_tool("sms_send", {**arguments, "confirmed": True})
            assert again.structured_content["outcome"] == "duplicate"


@pytest.mark.anyio
async def test_stdout_carries_nothing_but_json_rpc(tmp_path: Path) -> None:
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "sms_inbox", "arguments": {"limit": 500}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
    ]  # fmt: skip
    env = {"GHL_SMS_DATA_DIR": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    out, err = bytearray(), bytearray()
    with anyio.fail_after(30):
        async with await anyio.open_process(
            [*ghl_sms(), "mcp", "--sandbox"], env=env, cwd=tmp_path
        ) as process:
            assert process.stdin and process.stdout and process.stderr
            async with anyio.create_task_group() as tg:
                tg.start_soon(_collect, process.stderr, err)
                for request in requests:
                    await process.stdin.send(json.dumps(request).encode() + b"\n")
                while out.count(b"\n") < 3:
                    out.extend(await process.stdout.receive())
                await process.stdin.aclose()  # EOF: the server shuts down
                await _collect(process.stdout, out)
                assert await process.wait() == 0
    answers = [json.loads(line) for line in out.decode().splitlines()]  # every line is JSON
    assert [a.get("id") for a in answers] == [1, 2, 3]
    assert all(a["jsonrpc"] == "2.0" for a in answers)
    assert answers[1]["result"]["isError"] is True  # the refused argument is logged...
    assert b"sms_inbox" in err  # ...on stderr only


async def _collect(stream: ByteReceiveStream, into: bytearray) -> None:
    try:
        async for chunk in stream:
            into.extend(chunk)
    except (anyio.EndOfStream, anyio.ClosedResourceError):
        pass


async def _read_to_end(stream: ByteReceiveStream) -> bytes:
    data = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
        while True:
            data += await stream.receive()
    return data


async def _wait_for_url(stream: ByteReceiveStream, seen: bytearray) -> str:
    pattern = re.compile(rb"listening on (http://\S+/mcp)")
    while (found := pattern.search(seen)) is None:
        seen.extend(await stream.receive())
    return found.group(1).decode()


@pytest.mark.anyio
async def test_http_needs_the_bearer_token(tmp_path: Path) -> None:
    env = {"GHL_SMS_DATA_DIR": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    command = [*ghl_sms(), "mcp", "--sandbox", "--http", "--port", "0", "--http-token", TOKEN,
               "--header-timeout", "0.2"]  # fmt: skip
    with anyio.fail_after(30):
        async with await anyio.open_process(command, env=env, cwd=tmp_path) as process:
            assert process.stderr is not None
            url = await _wait_for_url(process.stderr, bytearray())
            assert url.startswith("http://127.0.0.1:")
            async with anyio.create_task_group() as tg:
                tg.start_soon(_collect, process.stderr, bytearray())
                ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                async with httpx2.AsyncClient() as anonymous:
                    assert (await anonymous.post(url, json=ping)).status_code == 401
                    wrong = {"Authorization": "Bearer not-the-token"}
                    assert (await anonymous.post(url, json=ping, headers=wrong)).status_code == 401
                bearer = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx2.AsyncClient(headers=bearer) as http:
                    async with Client(streamable_http_client(url, http_client=http)) as client:
                        assert len((await client.list_tools()).tools) == 11
                        numbers = await client.call_tool("sms_numbers", {})
                        assert numbers.structured_content["numbers"][0]["is_default"] is True
                        # A client whose headers stall is cut off; the session goes on.
                        host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
                        async with await anyio.connect_tcp(host, int(port)) as stalled:
                            await stalled.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                            cut_off = await _read_to_end(stalled)
                        assert cut_off.startswith(b"HTTP/1.1 408 ")
                        assert len((await client.list_tools()).tools) == 11
                process.terminate()
                await process.wait()
                tg.cancel_scope.cancel()


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("hello")(scope, receive, send)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": f"bearer {TOKEN}x"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": f"Bearer{TOKEN}"}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        # RFC 9110: the scheme is case-insensitive, and one or more spaces follow it.
        ({"Authorization": f"bearer {TOKEN}"}, 200),
        ({"Authorization": f"BEARER {TOKEN}"}, 200),
        ({"Authorization": f"Bearer   {TOKEN}"}, 200),
    ],
)
async def test_the_bearer_middleware_lets_only_the_token_through(
    headers: dict[str, str], status: int
) -> None:
    app = BearerTokenMiddleware(_hello, TOKEN)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        response = await http.get("/mcp", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.20", False), ("example.com", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_http_without_a_token_is_refused_even_on_loopback(tmp_path: Path, host: str) -> None:
    app = harness(tmp_path).app()
    result = CliRunner().invoke(cli, ["mcp", "--sandbox", "--http", "--host", host], obj=app)
    assert result.exit_code == 2
    assert "without a bearer token" in result.stderr and result.stdout == ""
    assert "GHL_SMS_MCP_TOKEN" in result.stderr


def test_mcp_without_credentials_names_the_variables_and_writes_nothing_to_stdout(
    tmp_path: Path,
) -> None:
    app = harness(tmp_path).app()
    result = CliRunner().invoke(cli, ["mcp"], obj=app)
    assert result.exit_code == 2 and result.stdout == ""
    assert "GHL_TOKEN and GHL_LOCATION_ID not set" in result.stderr


SECRET_WITH_A_SPACE = "s3cret-part one-89abcdef"


@pytest.mark.parametrize(
    ("args", "environ", "says"),
    [
        (["--http-token", ""], {}, "The bearer token in --http-token is blank"),
        (["--http-token", "  \t "], {}, "The bearer token in --http-token is blank"),
        ([], {"GHL_SMS_MCP_TOKEN": "   "}, "The bearer token in GHL_SMS_MCP_TOKEN is blank"),
        (["--http-token", SECRET_WITH_A_SPACE], {}, "has spaces, control or non-ASCII"),
        ([], {"GHL_SMS_MCP_TOKEN": "abc\r\nX-Evil: 1"}, "has spaces, control or non-ASCII"),
    ],
)
def test_a_blank_or_malformed_token_is_refused_at_start_without_echoing_it(
    tmp_path: Path, args: list[str], environ: dict[str, str], says: str
) -> None:
    app = harness(tmp_path).app(**environ)
    result = CliRunner().invoke(cli, ["mcp", "--sandbox", "--http", "--port", "0", *args], obj=app)
    assert result.exit_code == 2
    assert says in result.stderr and "openssl rand -hex 32" in result.stderr
    assert result.stdout == ""
    for secret in ("s3cret", "part one", "X-Evil"):
        assert secret not in result.output


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    app = harness(tmp_path).app()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = ["mcp", "--sandbox", "--http", "--port", str(port), "--http-token", TOKEN]
        result = CliRunner().invoke(cli, command, obj=app)
    assert result.exit_code == 2
    assert result.stderr == f"Error: port {port} is in use; pick another with --port\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "70000"], "70000 is not in the range 0<=x<=65535"),
        (["--host", "192.0.2.1"], "not an address of this machine; use 127.0.0.1"),
        (["--header-timeout", "-1"], "Invalid value for '--header-timeout'"),
    ],
)
def test_where_and_how_to_listen_is_checked_first(
    tmp_path: Path, args: list[str], says: str
) -> None:
    app = harness(tmp_path).app()
    command = ["mcp", "--sandbox", "--http", "--http-token", TOKEN, "--port", "0", *args]
    result = CliRunner().invoke(cli, command, obj=app)
    assert result.exit_code == 2
    assert says in result.stderr and "Traceback" not in result.output
