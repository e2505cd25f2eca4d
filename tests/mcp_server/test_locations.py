"""One MCP server for many sub-accounts: every tool's ``location`` picks one.

Two PIT profiles over two of the sandbox agency's locations (dental:
sandboxDemoLocation1, fitness: sandboxDemoLocation2), one ledger shared by both, as
``ghl-sms mcp`` builds it from a config file; and the same over the agency's OAuth
login, location tokens minted on demand by a ``TokenManager`` against the in-process
sandbox.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client

from ghl_sms._clock import FakeClock
from ghl_sms.accounts import TokenManager, TokenStore
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.mcp_server.server import AgencyAccess, LocationSet, SubAccount, build_server
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SmsService
from ghl_sms.sandbox import Sandbox
from support import agency
from support.contract import Target
from support.mcp_tools import ToolCalls, User
from support.stack import WEEKDAY_NOON

pytestmark = pytest.mark.anyio

DENTAL, FITNESS = "sandboxDemoLocation1", "sandboxDemoLocation2"
AVA = "sbxCtReachable000001"  # dental's reachable contact, +14155550100
OMAR = "sbxL2CtReachable0001"  # fitness's reachable contact, +13125550100
OMAR_PHONE = "+13125550100"


class Agency:
    """The sandbox, one ledger, and a profile per sub-account (name -> location id)."""

    def __init__(self) -> None:
        self.clock = FakeClock(WEEKDAY_NOON)
        self.sandbox = Sandbox(clock=self.clock)
        self.ledger = Ledger.open(":memory:", self.clock)

    def client(self, location_id: str, **auth: Any) -> GhlClient:
        return GhlClient(
            location_id=location_id,
            base_url=self.sandbox.base_url,
            transport=self.sandbox.transport(),
            clock=self.clock,
            rng=random.Random(0),
            retry=RetryPolicy(max_retries=1),
            **auth,
        )

    def profile(self, name: str, location_id: str) -> SubAccount:
        token = self.sandbox.create_token(location_id)  # a PIT of that sub-account

        @asynccontextmanager
        async def open_service() -> AsyncIterator[SmsService]:
            async with self.client(location_id, token=token) as client:
                yield SmsService(client, self.ledger, clock=self.clock)

        return SubAccount(open=open_service, location_id=location_id, name=name)

    def location_of(self, message_id: str) -> tuple[str, str]:
        """(location id, sending number) of a message, as the sandbox (GHL) has it."""
        row = self.sandbox.store.conn.execute(
            "SELECT location_id, from_number FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        assert row is not None, message_id
        return str(row[0]), str(row[1])

    def outbound(self) -> int:
        row = self.sandbox.store.conn.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self.ledger.close()
        self.sandbox.close()


@pytest.fixture
def world() -> Iterator[Agency]:
    built = Agency()
    yield built
    built.close()


@asynccontextmanager
async def serve(
    locations: LocationSet,
    world: Agency,
    *,
    user: User | None = None,
    mode: Literal["auto", "legacy"] = "auto",
    confirm: bool = True,
) -> AsyncIterator[ToolCalls]:
    server = build_server(locations, confirm=confirm)
    async with Client(server, mode=mode, elicitation_callback=user) as client:
        yield ToolCalls(client)


def two_profiles(world: Agency, default: str | None = None) -> LocationSet:
    return LocationSet(
        accounts=(world.profile("dental", DENTAL), world.profile("fitness", FITNESS)),
        default=default,
    )


async def test_each_send_goes_out_from_the_sub_account_it_names(world: Agency) -> None:
    async with serve(two_profiles(world), world, confirm=False) as s:
        to_ava = await s.ok("sms_send", text="Cleaning at 3", contact_id=AVA, location="dental")
        # by location id as well as by name
        to_omar = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location=FITNESS)
    assert world.location_of(to_ava["message_id"]) == (DENTAL, "+14155550190")
    assert world.location_of(to_omar["message_id"]) == (FITNESS, "+13125550190")


async def test_a_contact_of_another_sub_account_is_refused_there(world: Agency) -> None:
    async with serve(two_profiles(world), world, confirm=False) as s:
        text = await s.error("sms_send", text="Hi", contact_id=OMAR, location="dental")
    # GHL answers 403 for a contact of another location, whatever the token.
    assert "does not have access to this location" in text and f"/contacts/{OMAR}" in text
    assert world.outbound() == 0


async def test_the_confirmation_names_the_sub_account(world: Agency) -> None:
    user = User()
    async with serve(two_profiles(world), world, user=user) as s:
        await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location="fitness")
    assert "Sub-account: fitness: Sandbox Fitness (demo) (sandboxDemoLocation2)." in user.asked[0]
    assert "from +13125550190" in user.asked[0]


async def test_without_elicitation_the_preview_names_the_sub_account(world: Agency) -> None:
    async with serve(two_profiles(world), world, mode="legacy") as s:
        text = await s.error("sms_send", text="Cleaning at 3", contact_id=AVA, location="dental")
        assert world.outbound() == 0
        assert "Not sent yet" in text
        assert "Sub-account: dental: Sandbox Dental (demo) (sandboxDemoLocation1)." in text
        sent = await s.ok(
            "sms_send", text="Cleaning at 3", contact_id=AVA, location="dental", confirmed=True
        )
    assert world.location_of(sent["message_id"])[0] == DENTAL


async def test_a_campaign_preview_names_its_sub_account(world: Agency) -> None:
    user = User(send=False)
    async with serve(two_profiles(world), world, user=user) as s:
        await s.error("sms_bulk_send", template="Hi {first_name}", contact_ids=[OMAR],
                      location="fitness")  # fmt: skip
    assert "Sub-account: fitness: Sandbox Fitness (demo) (sandboxDemoLocation2)." in user.asked[0]
    assert world.outbound() == 0


async def test_location_is_required_when_several_and_no_default(world: Agency) -> None:
    async with serve(two_profiles(world), world, confirm=False) as s:
        text = await s.error("sms_send", text="Hi", contact_id=AVA)
        assert "Which sub-account?" in text
        assert "dental (sandboxDemoLocation1)" in text and "fitness (sandboxDemoLocation2)" in text
        assert "nothing was done" in text
        for tool in ("sms_inbox", "sms_history", "sms_contacts", "sms_campaign"):
            arguments = {"action": "list"} if tool == "sms_campaign" else {}
            assert "Which sub-account?" in await s.error(tool, **arguments)
        unknown = await s.error("sms_send", text="Hi", contact_id=AVA, location="dentl")
        assert "No sub-account 'dentl'" in unknown and "dental (sandboxDemoLocation1)" in unknown
    assert world.outbound() == 0


async def test_without_location_the_default_is_used(world: Agency) -> None:
    async with serve(two_profiles(world, default="fitness"), world, confirm=False) as s:
        sent = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR)
    assert world.location_of(sent["message_id"])[0] == FITNESS


async def test_an_opt_out_in_one_sub_account_does_not_block_another(world: Agency) -> None:
    async with serve(two_profiles(world), world, confirm=False) as s:
        out = await s.ok("sms_cancel", opt_out=OMAR_PHONE, location="dental")
        assert out["opted_out"] == OMAR_PHONE
        dental = await s.ok("sms_check", to_number=OMAR_PHONE, location="dental")
        assert dental["verdict"] == "blocked" and dental["opted_out"] is True
        fitness = await s.ok("sms_check", contact_id=OMAR, location="fitness")
        assert fitness["verdict"] == "ok" and fitness["opted_out"] is False
        sent = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location="fitness")
        assert world.location_of(sent["message_id"])[0] == FITNESS
        # The same opt-out in fitness blocks it there too, from then on.
        await s.ok("sms_cancel", opt_out=OMAR, location="fitness")
        text = await s.error("sms_send", text="Gym at 7", contact_id=OMAR, location="fitness")
        assert "opted_out" in text or "opted out" in text
    assert world.outbound() == 1


async def test_numbers_lists_every_sub_account_with_its_numbers(world: Agency) -> None:
    async with serve(two_profiles(world, default="dental"), world) as s:
        listed = await s.ok("sms_numbers")
        one = await s.ok("sms_numbers", location="fitness")
    assert listed["locations"] == [
        {
            "location": "dental",
            "location_id": DENTAL,
            "name": "Sandbox Dental (demo)",
            "default": True,
            "numbers": ["+14155550190", "+14155550191"],
        },
        {
            "location": "fitness",
            "location_id": FITNESS,
            "name": "Sandbox Fitness (demo)",
            "numbers": ["+13125550190", "+13125550192"],
        },
    ]
    assert "numbers" not in listed
    assert [n["phone_number"] for n in one["numbers"]] == ["+13125550190", "+13125550192"]
    assert one["numbers"][0]["is_default"] is True


async def test_history_and_campaigns_are_per_sub_account(world: Agency) -> None:
    async with serve(two_profiles(world), world, confirm=False) as s:
        await s.ok("sms_send", text="Cleaning at 3", contact_id=AVA, location="dental")
        started = await s.ok(
            "sms_bulk_send", template="Hi {first_name}", contact_ids=[OMAR], location="fitness"
        )
        assert started["outcome"] == "started"
        dental = await s.ok("sms_history", location="dental")
        assert [e["contact_id"] for e in dental["sends"]] == [AVA]
        assert (await s.ok("sms_campaign", action="list", location="dental"))["campaigns"] == []
        fitness = await s.ok("sms_campaign", action="list", location="fitness")
        assert [c["campaign_id"] for c in fitness["campaigns"]] == [started["campaign_id"]]
        # A campaign belongs to one sub-account: another's tools leave it alone.
        text = await s.error("sms_cancel", campaign_id=started["campaign_id"], location="dental")
        assert f"belongs to sub-account {FITNESS}" in text and "location=" in text
        status = await s.ok(
            "sms_campaign", action="status", campaign_id=started["campaign_id"], location=FITNESS
        )
        assert status["campaigns"][0]["state"] in ("running", "completed")


async def test_a_profile_whose_token_is_missing_fails_alone(world: Agency) -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[SmsService]:
        from ghl_sms.accounts import AccountsError

        raise AccountsError(
            "Sub-account 'realty' takes its token from $GHL_TOKEN_REALTY, which is not set.",
            hint="Set GHL_TOKEN_REALTY (in the environment or a .env file).",
        )
        yield  # pragma: no cover

    locations = LocationSet(
        accounts=(
            world.profile("dental", DENTAL),
            SubAccount(open=broken, location_id="sandboxDemoLocation3", name="realty"),
        ),
        default="dental",
    )
    async with serve(locations, world, confirm=False) as s:
        text = await s.error("sms_send", text="Hi", contact_id=AVA, location="realty")
        assert "$GHL_TOKEN_REALTY" in text and "Set GHL_TOKEN_REALTY" in text
        listed = await s.ok("sms_numbers")
        assert listed["locations"][0]["numbers"] == ["+14155550190", "+14155550191"]
        assert "GHL_TOKEN_REALTY" in listed["locations"][1]["problem"]
        await s.ok("sms_send", text="Cleaning at 3", contact_id=AVA)  # the default still works
    assert world.outbound() == 1


async def test_one_server_over_the_agency_login(world: Agency, tmp_path: Path) -> None:
    """Location tokens minted on demand through one TokenManager; any installed
    sub-account by id or by GHL's name; one without the app refused before any send,
    and served once the app is installed."""
    target = Target("asgi", world.sandbox.base_url, world.sandbox.transport(), world.clock,
                    world.sandbox)  # fmt: skip
    store = TokenStore(tmp_path / "oauth.json")
    await agency.log_in(target, store)
    async with TokenManager(store, clock=world.clock, transport=target.transport) as tokens:

        async def installed() -> list[tuple[str, str]]:
            return [(loc.id, loc.name) for loc in await tokens.installed_locations()]

        @asynccontextmanager
        async def open_location(location_id: str) -> AsyncIterator[SmsService]:
            async with world.client(location_id, token_provider=tokens.provider(location_id)) as c:
                yield SmsService(c, world.ledger, clock=world.clock)

        locations = LocationSet(agency=AgencyAccess(installed=installed, open=open_location))
        user = User()
        async with serve(locations, world, user=user) as s:
            ambiguous = await s.error("sms_send", text="Hi", contact_id=AVA)
            assert "Which sub-account?" in ambiguous and "Sandbox Realty (demo)" in ambiguous
            listed = await s.ok("sms_numbers")
            by_id = {loc["location_id"]: loc for loc in listed["locations"]}
            assert set(by_id) == {DENTAL, FITNESS, "sandboxDemoLocation3"}
            assert by_id[FITNESS]["numbers"] == ["+13125550190", "+13125550192"]
            assert by_id[FITNESS]["location"] == FITNESS  # what to pass: the id

            to_omar = await s.ok("sms_send", text="Gym at 6", contact_id=OMAR, location=FITNESS)
            to_ava = await s.ok("sms_send", text="Cleaning at 3", contact_id=AVA,
                                location="sandbox dental (demo)")  # fmt: skip
            assert "Sub-account: Sandbox Fitness (demo) (sandboxDemoLocation2)." in user.asked[0]

            # The location token expires; the next send gets a new one and goes out.
            world.clock.advance(90_000)
            again = await s.ok("sms_send", text="Gym at 7", contact_id=OMAR, location=FITNESS)

            salon = await s.error("sms_send", text="Hi", contact_id=OMAR,
                                  location="sandboxDemoLocation4")  # fmt: skip
            assert "No sub-account 'sandboxDemoLocation4'" in salon
            # Installed while the server runs: found on the next call, no restart.
            world.sandbox.install_app("sandboxDemoLocation4")
            wes = await s.ok("sms_send", text="Trim at 2", contact_id="sbxL4CtReachable0001",
                             location="sandboxDemoLocation4")  # fmt: skip
    assert world.location_of(to_omar["message_id"]) == (FITNESS, "+13125550190")
    assert world.location_of(to_ava["message_id"]) == (DENTAL, "+14155550190")
    assert world.location_of(again["message_id"])[0] == FITNESS
    assert world.sandbox.oauth_stats["locationTokens"] >= 3  # dental, fitness, realty, fitness
    assert world.location_of(wes["message_id"])[0] == "sandboxDemoLocation4"
    assert world.outbound() == 4
