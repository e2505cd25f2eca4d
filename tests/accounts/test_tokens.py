"""The agency login: the store (0600, atomic, damaged or unsafe files refused), the
agency token refreshed before expiry with the new pair on disk first, location tokens
cached until shortly before they expire, and the API client renewing on its own."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import anyio
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms._settings import Secret
from ghl_sms.accounts import (
    AccountsError,
    LoginRequired,
    OAuthApp,
    TokenManager,
    TokenStore,
    complete_login,
    renew_time,
)
from ghl_sms.ghl import GhlClient, OAuthClient
from support.oauth_fake import CLIENT_ID, CLIENT_SECRET, COMPANY_ID, FakeAgency

REDIRECT = "http://127.0.0.1:8765/callback"


def app() -> OAuthApp:
    return OAuthApp(
        client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), base_url="https://ghl.test"
    )


def oauth_client(agency: FakeAgency, clock: FakeClock) -> OAuthClient:
    return OAuthClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url="https://ghl.test",
        transport=agency.transport(),
        clock=clock,
    )


def manager(store: TokenStore, agency: FakeAgency, clock: FakeClock) -> TokenManager:
    return TokenManager(store, clock=clock, transport=agency.transport())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agency(clock: FakeClock) -> FakeAgency:
    return FakeAgency(now=clock.now)


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock, agency: FakeAgency) -> TokenStore:
    """The agency logged in: its first token pair on disk."""
    store = TokenStore(tmp_path / "data" / "oauth.json")
    async with oauth_client(agency, clock) as oauth:
        await complete_login(
            store, app(), oauth, code=agency.new_code(REDIRECT), redirect_uri=REDIRECT, clock=clock
        )
    return store


@pytest.mark.anyio
async def test_login_stores_the_agency_tokens_privately(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    tokens = store.load()
    assert tokens.company.company_id == COMPANY_ID
    assert tokens.company.approved_locations == ("locA", "locB", "locC")
    assert tokens.company.renew_at == clock.now() + 86399 - 300
    assert "CANARY" not in repr(tokens) and CLIENT_SECRET not in repr(tokens)


@pytest.mark.anyio
async def test_the_agency_token_is_refreshed_only_shortly_before_expiry(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    first = store.load().company
    async with manager(store, agency, clock) as tokens:
        clock.advance(86399 - 301)
        assert await tokens.company_token() == first.access_token.reveal()
        assert agency.refreshes == 0
        clock.advance(2)
        renewed = await tokens.company_token()
    assert agency.refreshes == 1 and renewed != first.access_token.reveal()
    on_disk = store.load().company
    assert on_disk.access_token.reveal() == renewed
    assert on_disk.refresh_token != first.refresh_token  # the rotated one was kept
    assert on_disk.refresh_token.reveal() in agency.live_refresh


@pytest.mark.anyio
async def test_the_new_pair_is_on_disk_before_it_is_used(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    seen_on_disk: list[str] = []
    original = agency.handle

    def spy(method: str, path: str, headers: dict[str, str], body: bytes, query: str):  # type: ignore[no-untyped-def]
        if path == "/oauth/locationToken":  # the first use of the refreshed agency token
            seen_on_disk.append(store.load().company.access_token.reveal())
            seen_on_disk.append(headers["authorization"].removeprefix("Bearer "))
        return original(method, path, headers, body, query)

    agency.handle = spy  # type: ignore[method-assign]
    clock.advance(86399)
    async with manager(store, agency, clock) as tokens:
        await tokens.location_token("locA")
    assert agency.refreshes == 1 and seen_on_disk[0] == seen_on_disk[1]


@pytest.mark.anyio
async def test_location_tokens_are_cached_until_shortly_before_expiry(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    async with manager(store, agency, clock) as tokens:
        a1 = await tokens.location_token("locA")
        assert await tokens.location_token("locA") == a1
        b1 = await tokens.location_token("locB")
        assert b1 != a1 and agency.location_tokens == 2
        clock.advance(86399 - 301)
        assert await tokens.location_token("locA") == a1 and agency.location_tokens == 2
        clock.advance(2)
        a2 = await tokens.location_token("locA")
    assert a2 != a1 and agency.location_tokens == 3
    # Another process (a new manager) reuses the cached token from the store.
    async with manager(store, agency, clock) as other:
        assert await other.location_token("locA") == a2
    assert agency.location_tokens == 3


@pytest.mark.anyio
async def test_a_refused_location_token_is_replaced(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    async with manager(store, agency, clock) as tokens:
        first = await tokens.location_token("locA")
        second = await tokens.location_token("locA", invalid=first)
        assert second != first
        # Refused again with the old one (a slow request): the new one stays.
        assert await tokens.location_token("locA", invalid=first) == second


@pytest.mark.anyio
async def test_the_api_client_renews_an_expired_location_token_by_itself(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    async with manager(store, agency, clock) as tokens:
        client = GhlClient(
            token_provider=tokens.provider("locB"),
            location_id="locB",
            base_url="https://ghl.test",
            transport=agency.transport(),
            clock=clock,
        )
        async with client:
            assert (await client.get_location()).name == "Uptown"
            # GHL forgets the token early (revoked): the client asks for a new one once.
            agency.access.pop(store.load().locations["locB"].access_token.reveal())
            assert (await client.get_location()).name == "Uptown"
            # A day later both the agency and the location tokens have expired.
            clock.advance(2 * 86400)
            assert (await client.get_location()).name == "Uptown"
    assert agency.refreshes == 1 and agency.location_tokens == 3


@pytest.mark.anyio
async def test_many_tasks_of_one_process_mint_one_token(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    clock.advance(86400)  # every task finds the agency token expired
    got: list[str] = []
    async with manager(store, agency, clock) as tokens:

        async def one() -> None:
            got.append(await tokens.location_token("locC"))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(one)
    assert len(set(got)) == 1 and agency.refreshes == 1 and agency.location_tokens == 1


@pytest.mark.anyio
async def test_a_refused_refresh_token_asks_to_log_in_again(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    agency.live_refresh.clear()  # revoked at GHL
    clock.advance(86400)
    async with manager(store, agency, clock) as tokens:
        with pytest.raises(LoginRequired) as info:
            await tokens.company_token()
    assert "ghl-sms login" in (info.value.hint or "")
    assert "CANARY" not in str(info.value)


@pytest.mark.anyio
async def test_a_location_outside_the_install_is_a_clear_error(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    async with manager(store, agency, clock) as tokens:
        with pytest.raises(AccountsError, match="no token for sub-account locZ"):
            await tokens.location_token("locZ")


@pytest.mark.anyio
async def test_installed_locations_pages_through_all(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    async with manager(store, agency, clock) as tokens:
        found = await tokens.installed_locations(page_size=2)
    assert [(loc.id, loc.name) for loc in found] == [
        ("locA", "Downtown"),
        ("locB", "Uptown"),
        ("locC", "Harbor"),
    ]


def test_no_login_and_a_damaged_or_unsafe_store_are_explained(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "oauth.json")
    with pytest.raises(LoginRequired, match="Not logged in"):
        store.load()
    store.path.write_text('{"app": "CANARY-secret"')
    store.path.chmod(0o600)
    with pytest.raises(LoginRequired) as info:
        store.load()
    assert "damaged" in str(info.value) and "CANARY" not in str(info.value)
    store.path.write_text("{}")
    os.chmod(store.path, 0o644)
    with pytest.raises(AccountsError, match="chmod 600|0644"):
        store.load()


@pytest.mark.anyio
async def test_a_store_write_is_atomic(
    store: TokenStore, clock: FakeClock, agency: FakeAgency
) -> None:
    inode = store.path.stat().st_ino
    async with manager(store, agency, clock) as tokens:
        await tokens.location_token("locA")
    assert store.path.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    assert json.loads(store.path.read_text())["locations"]["locA"]["access_token"]
    # No temp file left behind.
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["oauth.json", "oauth.json.lock"]


def test_a_short_lived_token_is_renewed_halfway() -> None:
    assert renew_time(1000.0, 86400) == 1000.0 + 86400 - 300
    assert renew_time(1000.0, 120) == 1060.0
