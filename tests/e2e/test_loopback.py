"""End to end over real HTTP on loopback, as a user would run it.

`ghl-sms sandbox` and `ghl-sms webhooks` run as real processes on 127.0.0.1; the sandbox
posts signed webhooks to the receiver; the CLI talks to the sandbox over HTTP. A reply
shows up in the inbox, a STOP blocks the next send, and status changes reach the ledger.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext
from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN
from support.processes import free_port, wait_for

AVA = "sbxCtReachable000001"
CHLOE = "sbxCtEmailDnd0000001"
GHL_SMS = [sys.executable, "-m", "ghl_sms"]


@dataclass
class Loopback:
    sandbox_url: str
    receiver_url: str
    ledger: Path
    env: dict[str, str]

    def control(self, method: str, path: str, **body: Any) -> Any:
        response = httpx2.request(method, f"{self.sandbox_url}{path}", json=body or None)
        response.raise_for_status()
        return response.json()

    def daily_remaining(self) -> int:
        """GHL's own count of this token's requests, read from a harmless GET."""
        response = httpx2.get(
            f"{self.sandbox_url}/locations/{DEMO_LOCATION_ID}",
            headers={"Authorization": f"Bearer {DEMO_TOKEN}", "Version": "2021-07-28"},
        )
        response.raise_for_status()
        return int(response.headers["x-ratelimit-daily-remaining"])

    def cli(self, *args: str) -> Any:
        result = CliRunner().invoke(cli, list(args), obj=AppContext(environ=self.env))
        return result

    def ledger_rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.ledger) as db:
            return db.execute(sql, params).fetchall()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # a file, not a pipe: a chatty child can never block
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def loopback(tmp_path: Path) -> Iterator[Loopback]:
    env = {**os.environ, "GHL_SMS_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    ledger = tmp_path / "ledger.db"
    sandbox_log = tmp_path / "sandbox.log"
    sandbox = start(
        [*GHL_SMS, "sandbox", "--port", "0", "--db", str(tmp_path / "sb.db")], env, sandbox_log
    )
    processes = [sandbox]
    try:

        def announced() -> str | None:
            lines = sandbox_log.read_text(encoding="utf-8").splitlines()
            return lines[0] if lines and "listening on" in lines[0] else None

        sandbox_url = wait_for(announced, "the sandbox to listen").rsplit(" ", 1)[1].strip()
        keys = httpx2.get(f"{sandbox_url}/_sandbox/webhook-keys").json()
        rsa_file = tmp_path / "sandbox-rsa.pem"
        rsa_file.write_text(keys["rsa"], encoding="utf-8")
        port = free_port()
        receiver = start(
            [*GHL_SMS, "webhooks", "--port", str(port), "--ledger", str(ledger),
             "--ed25519-key", keys["ed25519"], "--rsa-key", str(rsa_file)],
            env,
            tmp_path / "receiver.log",
        )  # fmt: skip
        processes.append(receiver)
        receiver_url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx2.get(f"{receiver_url}/healthz").status_code == 200
            except httpx2.TransportError:
                return False

        wait_for(healthy, "the webhook receiver to listen")
        httpx2.post(
            f"{sandbox_url}/_sandbox/webhook-targets", json={"url": f"{receiver_url}/webhooks/ghl"}
        ).raise_for_status()
        cli_env = {
            "GHL_BASE_URL": sandbox_url,
            "GHL_TOKEN": DEMO_TOKEN,
            "GHL_LOCATION_ID": DEMO_LOCATION_ID,
            "GHL_SMS_LEDGER": str(ledger),
            "GHL_SMS_DATA_DIR": str(tmp_path),
            "HOME": str(tmp_path),
        }
        yield Loopback(sandbox_url, receiver_url, ledger, cli_env)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_replies_stops_and_statuses_flow_through_signed_webhooks(loopback: Loopback) -> None:
    sent = loopback.cli(
        "send", "--contact", AVA, "--transactional", "Your table is ready", "--json"
    )
    assert sent.exit_code == 0, sent.output
    message_id = json.loads(sent.stdout)["message_id"]

    # Status changes reach the ledger by webhook (the sandbox's carrier runs in real time).
    status = wait_for(
        lambda: (
            loopback.ledger_rows("SELECT status FROM sends WHERE message_id = ?", message_id)
            == [("delivered",)]
        ),
        "the delivered status to reach the ledger",
    )
    assert status
    events = loopback.ledger_rows(
        "SELECT status, source FROM message_status_events WHERE message_id = ?", message_id
    )
    assert ("delivered", "webhook") in events

    # A contact's reply shows up in the inbox.
    loopback.control("POST", "/_sandbox/reply", contactId=AVA, body="On my way!")
    inbox = loopback.cli("inbox", "--json")
    assert inbox.exit_code == 0, inbox.output
    first = json.loads(inbox.stdout)["conversations"][0]
    assert (first["contact_id"], first["unread_count"], first["last_message"]) == (
        AVA,
        1,
        "On my way!",
    )
    wait_for(
        lambda: loopback.ledger_rows("SELECT body FROM inbound_messages") == [("On my way!",)],
        "the reply to reach the ledger",
    )

    # A STOP reply blocks the next send, before any API call.
    loopback.control("POST", "/_sandbox/reply", contactId=CHLOE, body="STOP")
    wait_for(
        lambda: loopback.ledger_rows(
            "SELECT source FROM opt_outs WHERE contact_id = ? AND lifted_at IS NULL", CHLOE
        ),
        "the opt-out to reach the ledger",
    )
    before = loopback.daily_remaining()
    blocked = loopback.cli("send", "--contact", CHLOE, "Flash sale!", "--json")
    assert blocked.exit_code == 3, blocked.output
    assert json.loads(blocked.stdout)["error"]["notes"][0]["code"] == "opted_out"
    assert loopback.daily_remaining() == before - 1  # only our own probe was counted


def test_forged_deliveries_are_refused_over_http(loopback: Loopback) -> None:
    body = json.dumps({"type": "InboundMessage", "locationId": DEMO_LOCATION_ID}).encode()
    for headers in ({}, {"x-ghl-signature": "AAAA"}, {"x-wh-signature": "AAAA"}):
        response = httpx2.post(f"{loopback.receiver_url}/webhooks/ghl", content=body,
                               headers=headers)  # fmt: skip
        assert response.status_code == 401
    assert loopback.ledger_rows("SELECT COUNT(*) FROM inbound_messages") == [(0,)]
