"""``ghl-sms webhooks``: configuration checks through click's runner, and the DND hook."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
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
    no_env_file = str(tmp_path / "absent.env")
    return CliRunner().invoke(cli, ["webhooks", "--env-file", no_env_file, *args], obj=app)


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
