"""``ghl-sms webhooks``: configuration checks through click's runner, and the DND hook."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.abc import ByteStream
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization

from ghl_sms._clock import FakeClock
from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext
from ghl_sms.cli._webhooks import _dnd_hook
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.webhooks import OptOutNotice
from webhooks.harness import KeyPairs


def run(tmp_path: Path, *args: str, **environ: str) -> Result:
    env = {"GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path), **environ}
    app = AppContext(environ=env, clock=FakeClock())
    return CliRunner().invoke(
        cli, ["webhooks", "--env-file", empty_env_file(tmp_path), *args], obj=app
    )


def empty_env_file(tmp_path: Path) -> str:
    """Keeps a .env in the working directory out of the test."""
    path = tmp_path / "empty.env"
    path.write_text("", encoding="utf-8")
    return str(path)


def ed25519_pem(keys: KeyPairs) -> str:
    return (
        keys.ed25519.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_check_prints_the_configuration_and_creates_the_ledger(
    tmp_path: Path, ghl_keys: KeyPairs
) -> None:
    result = run(tmp_path, "--check", GHL_WEBHOOK_PUBLIC_KEY=ed25519_pem(ghl_keys))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"ledger: {tmp_path / 'ledger.db'}",
        "receiving at: http://127.0.0.1:8788/webhooks/ghl",
        "x-ghl-signature (Ed25519): 1 key(s)",
        "x-wh-signature (RSA): GHL's key",
        "set DND in GHL on opt-out: no",
        "largest delivery: 1048576 bytes",
    ]
    assert result.stderr == ""
    assert (tmp_path / "ledger.db").is_file()


def test_keys_can_be_files_and_options_win_over_the_environment(
    tmp_path: Path, ghl_keys: KeyPairs, forger_keys: KeyPairs
) -> None:
    key_file = tmp_path / "ghl.pem"
    key_file.write_text(ed25519_pem(ghl_keys), encoding="utf-8")
    raw = forger_keys.ed25519.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    result = run(
        tmp_path,
        "--check",
        "--ed25519-key",
        str(key_file),
        "--ed25519-key",
        raw.hex(),
        "--no-rsa",
        "--ledger",
        str(tmp_path / "elsewhere.db"),
        GHL_WEBHOOK_PUBLIC_KEY="garbage that would fail",
    )
    assert result.exit_code == 0, result.output
    assert "x-ghl-signature (Ed25519): 2 key(s)" in result.stdout
    assert "x-wh-signature (RSA): off" in result.stdout
    assert f"ledger: {tmp_path / 'elsewhere.db'}" in result.stdout


def test_without_an_ed25519_key_it_warns_about_the_rsa_sunset(tmp_path: Path) -> None:
    result = run(tmp_path, "--check")
    assert result.exit_code == 0
    assert "x-ghl-signature (Ed25519): none, such are refused" in result.stdout
    assert "2026-07-01" in result.stderr


@pytest.mark.parametrize(
    ("args", "environ", "says"),
    [
        (["--ed25519-key", "not-a-key"], {}, "Ed25519 webhook public key"),
        (["--no-rsa"], {}, "No key to verify webhooks with"),
        (["--rsa-key", "nope"], {}, "RSA webhook public key"),
        (["--set-dnd"], {}, "--set-dnd needs GHL_TOKEN and GHL_LOCATION_ID"),
    ],
)
def test_a_bad_configuration_exits_2_with_one_line(
    tmp_path: Path, args: list[str], environ: dict[str, str], says: str
) -> None:
    result = run(tmp_path, "--check", *args, **environ)
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Traceback" not in result.output


def test_set_dnd_is_reported_with_its_location(tmp_path: Path) -> None:
    result = run(tmp_path, "--check", "--set-dnd", GHL_TOKEN="pit-x", GHL_LOCATION_ID="loc1")
    assert result.exit_code == 0, result.output
    assert "set DND in GHL on opt-out: yes, location loc1" in result.stdout


def notice(location_id: str = "loc1") -> OptOutNotice:
    return OptOutNotice(
        location_id=location_id,
        contact_id="ct-ava",
        phone="+14155550100",
        message_id="m1",
        body="STOP",
        webhook_id="w1",
    )


@pytest.mark.anyio
async def test_the_dnd_hook_sets_permanent_sms_dnd_on_the_contact() -> None:
    requests: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return httpx2.Response(200, json={"succeded": True, "contact": {"id": "ct-ava"}})

    async with GhlClient(
        token="pit-x", location_id="loc1", transport=httpx2.MockTransport(handler)
    ) as client:
        hook = _dnd_hook(client)
        await hook(notice())
        await hook(notice(location_id="another-location"))  # not ours to change
    assert [(r.method, r.url.path) for r in requests] == [("PUT", "/contacts/ct-ava")]
    assert json.loads(requests[0].content) == {"dndSettings": {"SMS": {"status": "permanent"}}}


@pytest.mark.anyio
async def test_a_dnd_call_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(422, json={"message": ["property x should not exist"]})

    async with GhlClient(
        token="pit-x",
        location_id="loc1",
        transport=httpx2.MockTransport(handler),
        clock=FakeClock(),
        retry=RetryPolicy(max_retries=0),
    ) as client:
        await _dnd_hook(client)(notice())
    assert "could not set SMS DND on contact ct-ava" in caplog.text


# -- where it listens and the bounds on clients (issue 12 items 4, 5 and 18)


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, ghl_keys: KeyPairs) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(tmp_path, "--port", str(port), GHL_WEBHOOK_PUBLIC_KEY=ed25519_pem(ghl_keys))
    assert result.exit_code == 2
    assert result.stderr == f"Error: port {port} is in use; pick another with --port\n"
    assert not (tmp_path / "ledger.db").exists()  # nothing opened before the bind


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "65536"], "65536 is not in the range 0<=x<=65535"),
        (["--host", "bad host"], "not an IP address or host name; use 127.0.0.1"),
        (["--body-timeout", "0"], "Invalid value for '--body-timeout'"),
        (["--max-connections", "0"], "Invalid value for '--max-connections'"),
    ],
)
def test_where_and_how_to_listen_is_checked_first(
    tmp_path: Path, ghl_keys: KeyPairs, args: list[str], says: str
) -> None:
    result = run(tmp_path, *args, GHL_WEBHOOK_PUBLIC_KEY=ed25519_pem(ghl_keys))
    assert result.exit_code == 2
    assert says in result.stderr and "Traceback" not in result.output


async def _read_to_end(stream: ByteStream) -> bytes:
    data = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
        while True:
            data += await stream.receive()
    return data


@pytest.mark.anyio
async def test_served_slow_bodies_are_cut_off_and_excess_connections_refused(
    tmp_path: Path, ghl_keys: KeyPairs
) -> None:
    """The issue's report: slow bodies held open without limit. Bounds are small here."""
    command = [
        sys.executable, "-m", "ghl_sms", "webhooks", "--port", "0", "--env-file",
        empty_env_file(tmp_path), "--header-timeout", "0.2", "--body-timeout", "0.2",
        "--max-connections", "2",
    ]  # fmt: skip
    env = {
        "GHL_SMS_DATA_DIR": str(tmp_path),
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", ""),
        "GHL_WEBHOOK_PUBLIC_KEY": ed25519_pem(ghl_keys),
    }
    seen = bytearray()
    with anyio.fail_after(30):
        async with await anyio.open_process(command, env=env, cwd=tmp_path) as process:
            assert process.stderr is not None
            pattern = re.compile(rb"receiving at: http://127\.0\.0\.1:(\d+)/webhooks/ghl")
            while (found := pattern.search(seen)) is None:
                seen.extend(await process.stderr.receive())
            port = int(found.group(1))
            slow_body = (
                b"POST /webhooks/ghl HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"type":'
            )
            async with await anyio.connect_tcp("127.0.0.1", port) as slow:
                await slow.send(slow_body)
                async with await anyio.connect_tcp("127.0.0.1", port) as idle:
                    async with await anyio.connect_tcp("127.0.0.1", port) as excess:
                        assert (await _read_to_end(excess)).startswith(b"HTTP/1.1 503 ")
                    assert (await _read_to_end(slow)).startswith(b"HTTP/1.1 408 ")
                    assert await _read_to_end(idle) == b""  # sent nothing: closed quietly
            process.terminate()
            await process.wait()


@pytest.mark.parametrize("given", ["missing.pem", "./keys/ghl", "~/nowhere/ghl-webhook.pub"])
def test_a_key_file_that_does_not_exist_is_named(tmp_path: Path, given: str) -> None:
    result = run(tmp_path, "--check", "--ed25519-key", given)
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert Path(given).name in result.output
    assert not (tmp_path / "ledger.db").exists()


def test_a_key_file_that_is_not_text_is_named(tmp_path: Path) -> None:
    binary = tmp_path / "ghl.pem"
    binary.write_bytes(b"\xff\xfe\x00binary")
    result = run(tmp_path, "--check", "--ed25519-key", str(binary))
    assert result.exit_code == 2
    assert f"{binary} is not a text file" in result.output
