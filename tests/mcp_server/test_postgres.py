"""`ghl-sms mcp` on PostgreSQL (GHL_SMS_DATABASE_URL, issue #15): real server processes
over stdio against a served sandbox, sharing one upgraded database. Sends are recorded
there and claim the location's budget the worker pumps claim; an opt-out recorded by
the CLI blocks the server; a repeated send is a duplicate across two servers; a
campaign is only queued for `ghl-sms worker`, never sent by the server itself."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from support.mcp_tools import ToolCalls
from support.served_sandbox import served

pytestmark = pytest.mark.anyio


def _ghl_sms() -> list[str]:
    script = Path(sys.executable).parent / "ghl-sms"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ghl_sms"]


class Setup:
    def __init__(self, tmp: Path, url: str, info: dict[str, Any], sandbox_db: Path) -> None:
        [(self.location_id, token)] = info["locations"].items()
        self.contacts: list[str] = info["contacts"]
        self.url = url
        self.sandbox_db = sandbox_db
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "GHL_BASE_URL": info["url"],
            "GHL_TOKEN": token,
            "GHL_LOCATION_ID": self.location_id,
            "GHL_SMS_DATABASE_URL": url,
            "GHL_SMS_DATA_DIR": str(tmp / "data"),
            "GHL_SMS_CONFIG": str(tmp / "no-config.toml"),
        }
        self.tmp = tmp

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_ghl_sms(), *args], env=self.env, cwd=self.tmp, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip

    @asynccontextmanager
    async def server(self) -> AsyncIterator[ToolCalls]:
        command, *args = _ghl_sms()
        params = StdioServerParameters(
            command=command, args=[*args, "mcp"], env=self.env, cwd=str(self.tmp)
        )
        async with Client(params) as client:
            yield ToolCalls(client)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url) as db:
            return list(db.execute(sql, params).fetchall())


async def outbound(server: ToolCalls, contact_id: str) -> int:
    """Texts GHL (the served sandbox) holds to the contact, read through sms_thread."""
    messages = (await server.ok("sms_thread", contact_id=contact_id))["messages"]
    return sum(1 for m in messages if m.get("direction") == "outbound")


@pytest.fixture
def setup(tmp_path: Path, pg_empty_url: str) -> Iterator[Setup]:
    sandbox_db = tmp_path / "sandbox.db"
    with served(sandbox_db, contacts=4) as (_, info):
        s = Setup(tmp_path, pg_empty_url, info, sandbox_db)
        upgraded = s.cli("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        yield s


async def test_two_servers_on_one_database_share_ledger_budget_opt_outs_and_campaigns(
    setup: Setup,
) -> None:
    from ghl_sms._clock import SystemClock
    from ghl_sms.ops.ledger import Ledger

    ava, bob, cy, dee = setup.contacts
    location = setup.location_id
    # Transactional (a notice, not marketing): the servers' clocks are real, and quiet
    # hours would refuse a marketing text at night where the contact lives.
    send = {"text": "Your table is ready", "contact_id": ava, "confirmed": True,
            "transactional": True, "idempotency_key": "table-1"}  # fmt: skip
    with anyio.fail_after(60):
        async with setup.server() as one, setup.server() as two:
            sent = await one.ok("sms_send", **send)
            assert sent["outcome"] == "sent", sent
            # The same call on another server process: the shared ledger knows it.
            again = await two.ok("sms_send", **send)
            assert again["outcome"] == "duplicate"
            assert again["message_id"] == sent["message_id"]
            # Without the key, the repeat guard refuses it, across processes too.
            repeat = await two.error("sms_send", **{**send, "idempotency_key": None})
            assert "not sending it again" in repeat and sent["message_id"] in repeat
            assert await outbound(one, ava) == 1

            ledger = Ledger.open(setup.url, SystemClock())
            try:
                [record] = list(ledger.search(location))
            finally:
                ledger.close()
            assert (record.text, record.state) == ("Your table is ready", "sent")
            claims = dict(setup.query("SELECT key, count(*) FROM bulk_budget_claims GROUP BY key"))
            assert set(claims) == {f"req:{location}"} and claims[f"req:{location}"] >= 1

            added = setup.cli("optouts", "add", "+14155552001")  # bob's number
            assert added.returncode == 0, added.stderr
            blocked = await two.error("sms_send", text="Hi", contact_id=bob, confirmed=True)
            assert "opted_out" in blocked
            assert await outbound(two, bob) == 0

            bulk = await one.ok("sms_bulk_send", template="Hello {{contact.first_name}}",
                                contact_ids=[cy, dee], confirmed=True)  # fmt: skip
            assert bulk["outcome"] == "started"
            assert "ghl-sms worker" in bulk["summary"]
            campaign_id = bulk["campaign_id"]
            listed = await two.ok("sms_campaign", action="list")
            assert [c["campaign_id"] for c in listed["campaigns"]] == [campaign_id]
            assert listed["campaigns"][0]["state"] == "running"
            jobs = setup.query("SELECT task_name, status, lock FROM procrastinate_jobs")
            assert len(jobs) == 1 and jobs[0][1] == "todo" and location in str(jobs[0][2])
            paused = await two.ok("sms_campaign", action="pause", campaign_id=campaign_id)
            assert paused["campaigns"][0]["state"] == "paused"
            resumed = await one.ok("sms_campaign", action="resume", campaign_id=campaign_id,
                                   confirmed=True)  # fmt: skip
            assert resumed["campaigns"][0]["state"] == "running"
            # Neither server sends the campaign: it waits for a worker.
            assert await outbound(one, cy) == await outbound(two, dee) == 0
    [(state,)] = setup.query("SELECT state FROM bulk_campaigns WHERE id = %s", campaign_id)
    assert state == "running"
    assert setup.query("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'") == [(1,)]
    assert not (setup.tmp / "data" / "ledger.db").exists()  # nothing went to a file


SECRET = "S3CRETpw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{SECRET}@127.0.0.1:1/x",  # nothing listens
        f"postgresql://postgres:{SECRET}@[::1/x",  # libpq quotes what it can't parse
        f"postgresql://:{SECRET}@127.0.0.1:1/db",  # no user name
        f"postgresql://u:{SECRET[:3]}@{SECRET[3:]}/x@127.0.0.1:1/db",  # an unescaped @ and /
        f"postgresql://u:{SECRET[:3]}/{SECRET[3:]}@127.0.0.1:1/db",  # an unescaped /
        f"postgresql:///db?host=127.0.0.1&port=1&password={SECRET}",
        f"postgresql://u:{SECRET[:3]} {SECRET[3:]}@127.0.0.1:1/db",  # libpq quotes it alone
    ],
)
async def test_a_database_that_does_not_open_never_shows_its_password(
    tmp_path: Path, url: str
) -> None:
    """The tool error and the server's WARNING log (on stderr) say it did not open,
    without the URL's password or any piece of it."""
    err = tmp_path / "stderr.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GHL_BASE_URL": "http://127.0.0.1:1",
        "GHL_TOKEN": "pit-test",
        "GHL_LOCATION_ID": "loc1",
        "GHL_SMS_DATABASE_URL": url,
        "GHL_SMS_DATA_DIR": str(tmp_path / "data"),
        "GHL_SMS_CONFIG": str(tmp_path / "no-config.toml"),
    }
    command = " ".join(shlex.quote(part) for part in _ghl_sms())
    params = StdioServerParameters(
        command="sh", args=["-c", f"exec {command} mcp 2>{shlex.quote(str(err))}"],
        env=env, cwd=str(tmp_path),
    )  # fmt: skip
    with anyio.fail_after(60):
        async with Client(params) as client:
            text = await ToolCalls(client).error("sms_send", text="Hi", contact_id="c1")
            await client.list_tools()  # the server warms up after it: opens, logs the failure
            while "did not open" not in err.read_text():
                await anyio.sleep(0.05)  # polled for (bounded by fail_after), not timed
    log = err.read_text()
    assert "database" in text.lower(), text
    for piece in (SECRET, SECRET[:3] + " ", SECRET[3:]):
        assert piece not in text and piece not in log, (text, log)
    assert "did not open" in log and "Traceback" not in log


async def test_a_database_without_the_job_queue_refuses_a_campaign_and_sends_nothing(
    tmp_path: Path, pg_url: str
) -> None:
    """pg_url has our tables but not procrastinate's (a `db upgrade` cut short): the
    server must not send the campaign itself, nor leave one that nothing would queue."""
    with served(tmp_path / "sandbox.db", contacts=2) as (_, info):
        s = Setup(tmp_path, pg_url, info, tmp_path / "sandbox.db")
        cy, dee = s.contacts
        with anyio.fail_after(60):
            async with s.server() as server:
                refused = await server.error(
                    "sms_bulk_send", template="Hello {{contact.first_name}}",
                    contact_ids=[cy, dee], confirmed=True,
                )  # fmt: skip
                # The location's engine is refused as it opens, so every tool says it.
                texted = await server.error("sms_send", text="Hi", contact_id=cy, confirmed=True)
        assert "no job queue" in refused and "ghl-sms db upgrade" in refused, refused
        assert "ghl-sms db upgrade" in texted
        assert s.query("SELECT count(*) FROM bulk_campaigns") == [(0,)]
        for contact in (cy, dee):
            thread = s.cli("thread", "--contact", contact, "--json")
            assert thread.returncode == 0, thread.stderr
            messages = json.loads(thread.stdout)["messages"]
            assert not [m for m in messages if m.get("direction") == "outbound"], messages
