"""One TokenManager serves every sub-account of a process (a bulk run texts many at
once): a fresh cached token is handed out at once, without waiting for the manager's
lock, so a slow mint or refresh for one sub-account never holds up the others' sends."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms._settings import Secret
from ghl_sms.accounts import OAuthApp, TokenManager, TokenStore, complete_login
from ghl_sms.ghl import OAuthClient
from support.oauth_fake import CLIENT_ID, CLIENT_SECRET, FakeAgency

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:8765/callback"


class HeldTransport(httpx2.AsyncBaseTransport):
    """The fake agency, with ``POST /oauth/locationToken`` for ``held`` kept waiting
    until ``release`` is set (a slow answer from GHL)."""

    def __init__(self, agency: FakeAgency, held: str) -> None:
        self.inner = agency.transport()
        self.held = held
        self.arrived = anyio.Event()
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth/locationToken" and self.held in request.read().decode():
            self.arrived.set()
            await self.release.wait()
        return await self.inner.handle_async_request(request)


async def logged_in(tmp_path: Path, clock: FakeClock, agency: FakeAgency) -> TokenStore:
    store = TokenStore(tmp_path / "oauth.json")
    app = OAuthApp(
        client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), base_url="https://ghl.test"
    )
    async with OAuthClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url="https://ghl.test",
        transport=agency.transport(),
        clock=clock,
    ) as oauth:
        await complete_login(
            store, app, oauth, code=agency.new_code(REDIRECT), redirect_uri=REDIRECT, clock=clock
        )
    return store


async def test_a_cached_token_is_handed_out_while_another_sub_account_mints(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    agency = FakeAgency(now=clock.now)
    store = await logged_in(tmp_path, clock, agency)
    transport = HeldTransport(agency, held="locB")
    async with TokenManager(store, clock=clock, transport=transport) as tokens:
        token_a = await tokens.location_token("locA")
        minted: list[str] = []

        async def mint_b() -> None:
            minted.append(await tokens.location_token("locB"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(mint_b)
            await transport.arrived.wait()  # locB's mint is in flight, under the lock
            # locA's requests go on: same token, no request to GHL, no wait.
            provider_a = tokens.provider("locA")
            with anyio.fail_after(5):  # a hang here would be the bug, not slowness
                assert [await provider_a() for _ in range(3)] == [token_a] * 3
                assert await tokens.company_token() == store.load().company.access_token.reveal()
            assert minted == [] and agency.location_tokens == 1
            transport.release.set()
    assert len(minted) == 1 and minted[0] != token_a and agency.location_tokens == 2
    assert store.load().locations["locB"].access_token.reveal() == minted[0]


async def test_a_refused_token_is_not_handed_out_again_from_the_cache(tmp_path: Path) -> None:
    clock = FakeClock()
    agency = FakeAgency(now=clock.now)
    store = await logged_in(tmp_path, clock, agency)
    async with TokenManager(store, clock=clock, transport=agency.transport()) as tokens:
        first = await tokens.location_token("locA")
        renewed = await tokens.location_token("locA", invalid=first)
        assert renewed != first and agency.location_tokens == 2
        assert await tokens.location_token("locA") == renewed  # cached again
        company = await tokens.company_token()
        assert await tokens.company_token(invalid=company) != company
    assert agency.refreshes == 1
