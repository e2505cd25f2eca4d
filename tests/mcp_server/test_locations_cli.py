"""`ghl-sms mcp`'s sub-accounts as the CLI wires them: the config file's profiles (tokens
from the environment), GHL_LOCATION_ID + GHL_TOKEN, and the sandbox agency's login after
`ghl-sms login --sandbox`, served in-process (``mcp_locations`` + ``build_server``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from click.testing import CliRunner
from mcp import Client

from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext
from ghl_sms.cli._mcp_locations import mcp_locations
from ghl_sms.mcp_server.server import build_server
from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN, Sandbox
from support.cli import CliHarness, harness
from support.mcp_tools import ToolCalls

FITNESS = "sandboxDemoLocation2"
AVA, OMAR = "sbxCtReachable000001", "sbxL2CtReachable0001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


@pytest.fixture
def ghl(h: CliHarness) -> Iterator[Sandbox]:
    """A sandbox standing in for GHL itself (no --sandbox), reached through the transport."""
    sandbox = Sandbox(db_path=h.tmp / "ghl.db", clock=h.clock)
    yield sandbox
    sandbox.close()


def write_config(h: CliHarness, text: str) -> Path:
    path = h.tmp / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


PROFILES = """
[locations.dental]
location_id = "sandboxDemoLocation1"
token_env = "GHL_TOKEN_DENTAL"

[locations.fitness]
location_id = "sandboxDemoLocation2"
token_env = "GHL_TOKEN_FITNESS"
"""


@asynccontextmanager
async def serve(
    app: AppContext, config: Path, *, sandbox: bool = False, wanted: str | None = None
) -> AsyncIterator[ToolCalls]:
    settings = app.settings(sandbox=sandbox or None)
    server = build_server(mcp_locations(app, settings, wanted=wanted, config=config), confirm=False)
    async with Client(server) as client:
        yield ToolCalls(client)


def where(sandbox: Sandbox, message_id: str) -> str:
    row = sandbox.store.conn.execute(
        "SELECT location_id FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    return str(row[0])


@pytest.mark.anyio
async def test_one_server_over_every_profile_of_the_config(h: CliHarness, ghl: Sandbox) -> None:
    config = write_config(h, PROFILES)
    app = h.app(GHL_TOKEN_DENTAL=DEMO_TOKEN, GHL_TOKEN_FITNESS=ghl.create_token(FITNESS))
    app.http_transport = ghl.transport()
    async with serve(app, config) as s:
        assert "Which sub-account?" in await s.error("sms_send", text="Hi", contact_id=AVA)
        listed = await s.ok("sms_numbers")
        assert [(loc["location"], loc["numbers"][0]) for loc in listed["locations"]] == [
            ("dental", "+14155550190"),
            ("fitness", "+13125550190"),
        ]
        sent = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location="fitness")
        other = await s.ok("sms_send", text="Cleaning", contact_id=AVA, location="dental")
    assert where(ghl, sent["message_id"]) == FITNESS
    assert where(ghl, other["message_id"]) == DEMO_LOCATION_ID
    # One ledger for both: each send recorded under its own location.
    async with serve(app, config, wanted="fitness") as s:
        history = await s.ok("sms_history")
        assert [e["contact_id"] for e in history["sends"]] == [OMAR]


@pytest.mark.anyio
async def test_a_profile_whose_token_is_not_set_fails_alone(h: CliHarness, ghl: Sandbox) -> None:
    config = write_config(h, 'default = "dental"\n' + PROFILES)
    app = h.app(GHL_TOKEN_DENTAL=DEMO_TOKEN)
    app.http_transport = ghl.transport()
    async with serve(app, config) as s:
        text = await s.error("sms_send", text="Hi", contact_id=OMAR, location="fitness")
        assert "$GHL_TOKEN_FITNESS, which is not set" in text and "Nothing was sent" in text
        sent = await s.ok("sms_send", text="Cleaning", contact_id=AVA)  # the default
    assert where(ghl, sent["message_id"]) == DEMO_LOCATION_ID


@pytest.mark.anyio
async def test_the_classic_env_pair_alone_is_one_location_as_before(
    h: CliHarness, ghl: Sandbox
) -> None:
    app = h.app(GHL_TOKEN=DEMO_TOKEN, GHL_LOCATION_ID=DEMO_LOCATION_ID)
    app.http_transport = ghl.transport()
    async with serve(app, h.tmp / "none.toml") as s:
        numbers = await s.ok("sms_numbers")
        assert numbers["numbers"][0]["phone_number"] == "+14155550190"
        assert "locations" not in numbers
        await s.ok("sms_send", text="Cleaning", contact_id=AVA)


@pytest.mark.anyio
async def test_sandbox_with_its_agency_login_serves_every_installed_sub_account(
    h: CliHarness,
) -> None:
    def log_in() -> Any:  # the CLI runs its own event loop: not on this one
        return CliRunner().invoke(cli, ["login", "--sandbox", "--json"], obj=h.app())

    login = await anyio.to_thread.run_sync(log_in)
    assert login.exit_code == 0, login.output
    app = h.app()
    async with serve(app, h.tmp / "none.toml", sandbox=True) as s:
        listed = await s.ok("sms_numbers")
        ids = [(loc["location_id"], loc.get("default")) for loc in listed["locations"]]
        assert ids == [
            (DEMO_LOCATION_ID, True),
            (FITNESS, None),
            ("sandboxDemoLocation3", None),
        ]
        sent = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location=FITNESS)
        demo = await s.ok("sms_send", text="Cleaning", contact_id=AVA)  # the demo location
    sandbox = h.sandbox()
    try:
        assert where(sandbox, sent["message_id"]) == FITNESS
        assert where(sandbox, demo["message_id"]) == DEMO_LOCATION_ID
    finally:
        sandbox.close()


def test_an_unknown_default_location_is_refused_at_start(h: CliHarness) -> None:
    config = write_config(h, PROFILES)
    result = CliRunner().invoke(
        cli, ["mcp", "--config", str(config), "--location", "dentl"], obj=h.app()
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert "No sub-account 'dentl'" in result.stderr and "dental, fitness" in result.stderr


def test_mcp_sandbox_location_without_a_sandbox_login_is_refused(h: CliHarness) -> None:
    result = CliRunner().invoke(cli, ["mcp", "--sandbox", "--location", FITNESS], obj=h.app())
    assert result.exit_code == 2 and "ghl-sms login --sandbox" in result.stderr
    assert result.stdout == ""


@pytest.mark.anyio
async def test_a_sandbox_that_cannot_open_is_the_calls_error_not_a_dead_server(
    h: CliHarness,
) -> None:
    """The sandbox and the ledger open with the first location, after tools/list: a busy
    sandbox file is that call's error, saying what to do, and tools/list still works."""
    from ghl_sms.cli._errors import CommandError

    def busy(settings: Any, clock: Any) -> Sandbox:
        raise CommandError("The embedded sandbox is in use by another process.", hint="Stop it.")

    app = h.app()
    app.sandbox_factory = busy
    async with serve(app, h.tmp / "none.toml", sandbox=True) as s:
        assert len((await s.client.list_tools()).tools) > 5
        text = await s.error("sms_inbox")
    assert text == (
        "Error executing tool sms_inbox: The embedded sandbox is in use by another process. "
        "Stop it."
    )


@pytest.mark.anyio
async def test_a_profile_with_another_sub_accounts_token_says_to_fix_the_profile(
    h: CliHarness, ghl: Sandbox
) -> None:
    config = write_config(h, 'default = "dental"\n' + PROFILES)
    # fitness's token is dental's: GHL refuses it for fitness's location.
    app = h.app(GHL_TOKEN_DENTAL=DEMO_TOKEN, GHL_TOKEN_FITNESS=DEMO_TOKEN)
    app.http_transport = ghl.transport()
    async with serve(app, config) as s:
        text = await s.error("sms_inbox", location="fitness")
        assert "another sub-account" in text and "profile fitness" in text
        assert "the location argument" in text and "GHL_LOCATION_ID" not in text
        assert (await s.ok("sms_inbox")) is not None  # dental's own token works
