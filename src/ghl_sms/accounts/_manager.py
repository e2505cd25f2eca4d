"""Tokens of an agency login, on demand: the agency token refreshed before it expires,
and a location token per sub-account, minted with ``POST /oauth/locationToken`` and
cached until shortly before it expires.

Refresh tokens rotate, so a refresh happens under the store's inter-process lock, after
re-reading the store (another process may have refreshed already), and the new pair is
on disk before anything uses it.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.to_thread
import httpx2

from ghl_sms._clock import Clock, SystemClock
from ghl_sms._settings import Secret
from ghl_sms.accounts._errors import AccountsError, LoginRequired
from ghl_sms.accounts._store import (
    CachedToken,
    CompanyLogin,
    OAuthApp,
    StoredTokens,
    TokenStore,
)
from ghl_sms.ghl import (
    ApiError,
    AuthenticationError,
    InstalledLocation,
    OAuthClient,
    RateLimitError,
    ServerError,
    TokenGrant,
    TokenProvider,
)

__all__ = ["RENEW_MARGIN", "TokenManager", "app_id_of", "complete_login", "renew_time"]

RENEW_MARGIN = 300.0
"""Seconds before expiry at which a token is no longer handed out."""


def renew_time(now: float, expires_in: float, margin: float = RENEW_MARGIN) -> float:
    """When to stop using a token that lives ``expires_in`` seconds from ``now``: the
    margin before it expires, or halfway for a token too short-lived for the margin."""
    return now + max(expires_in - margin, expires_in / 2)


def app_id_of(app: OAuthApp) -> str:
    """The app id for ``installedLocations``: stored, else the part of the client id
    before its dash (GHL client ids are ``<appId>-<suffix>``)."""
    return app.app_id or app.client_id.split("-", 1)[0]


def _company(grant: TokenGrant, now: float, fallback_company: str | None = None) -> CompanyLogin:
    company_id = grant.company_id or fallback_company
    if not company_id or not grant.refresh_token:
        raise LoginRequired(
            "GHL's answer carried no agency (Company) token: the app was installed on a "
            "single sub-account, or is not an agency app.",
            hint="Install the app for the agency (choose the agency on the authorize page), "
            "or use a sub-account profile: `ghl-sms locations add`.",
        )
    if grant.user_type and grant.user_type != "Company":
        raise LoginRequired(
            f"GHL issued a {grant.user_type} token, not an agency (Company) token.",
            hint="Log in again choosing the agency, not one sub-account.",
        )
    return CompanyLogin(
        company_id=company_id,
        access_token=Secret(grant.access_token),
        refresh_token=Secret(grant.refresh_token),
        expires_at=now + grant.expires_in,
        renew_at=renew_time(now, grant.expires_in),
        scope=grant.scope,
        approved_locations=tuple(grant.approved_locations),
    )


async def complete_login(
    store: TokenStore,
    app: OAuthApp,
    oauth: OAuthClient,
    *,
    code: str,
    redirect_uri: str,
    clock: Clock,
) -> StoredTokens:
    """Trade the authorization code for the agency tokens and store them (replacing any
    earlier login and its cached location tokens)."""
    grant = await oauth.exchange_code(code, redirect_uri)
    tokens = StoredTokens(app=app, company=_company(grant, clock.now()))
    await anyio.to_thread.run_sync(store.lock.acquire)
    try:
        store.save(tokens)
    finally:
        store.lock.release()
    return tokens


class TokenManager:
    """Hands out the agency token and location tokens of the login in ``store``.

    One per process (share it between clients: it also serialises minting within the
    process). ``transport`` and ``clock`` are injected like the API client's.
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        clock: Clock | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        oauth_factory: Callable[[OAuthApp], OAuthClient] | None = None,
    ) -> None:
        self.store = store
        self._clock: Clock = clock or SystemClock()
        self._transport = transport
        self._factory = oauth_factory
        self._oauth: OAuthClient | None = None
        self._tokens: StoredTokens | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"TokenManager({self.store!r})"

    async def aclose(self) -> None:
        if self._oauth is not None:
            await self._oauth.aclose()
            self._oauth = None

    async def __aenter__(self) -> TokenManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def tokens(self) -> StoredTokens:
        if self._tokens is None:
            self._tokens = self.store.load()
        return self._tokens

    def _client(self, app: OAuthApp) -> OAuthClient:
        if self._oauth is None:
            if self._factory is not None:
                self._oauth = self._factory(app)
            else:
                self._oauth = OAuthClient(
                    client_id=app.client_id,
                    client_secret=app.client_secret.reveal(),
                    base_url=app.base_url,
                    transport=self._transport,
                    clock=self._clock,
                )
        return self._oauth

    # --- the agency token -----------------------------------------------------------------

    async def company_token(self, *, invalid: str | None = None) -> str:
        """The agency's access token, refreshed first when it is about to expire (or is
        the ``invalid`` one GHL just refused)."""
        company = self.tokens().company
        if self._usable(company.access_token, company.renew_at, invalid):
            return company.access_token.reveal()  # no lock, no await: see location_token
        async with self._lock:
            return (await self._company_locked(invalid)).company.access_token.reveal()

    async def _company_locked(self, invalid: str | None) -> StoredTokens:
        tokens = self.tokens()
        if self._usable(tokens.company.access_token, tokens.company.renew_at, invalid):
            return tokens
        return await self._refresh(invalid)

    def _usable(self, token: Secret, renew_at: float, invalid: str | None) -> bool:
        return self._clock.now() < renew_at and token.reveal() != invalid

    async def _refresh(self, invalid: str | None) -> StoredTokens:
        await anyio.to_thread.run_sync(self.store.lock.acquire)
        try:
            tokens = self.store.load()  # another process may have refreshed meanwhile
            company = tokens.company
            if self._usable(company.access_token, company.renew_at, invalid):
                self._tokens = tokens
                return tokens
            oauth = self._client(tokens.app)
            try:
                grant = await oauth.refresh(company.refresh_token.reveal())
            except ApiError as exc:
                if isinstance(exc, RateLimitError | ServerError):
                    raise
                raise LoginRequired(
                    f"GHL refused the stored refresh token ({exc.message}): it was revoked, "
                    "expired, or already used by another copy of the login.",
                    hint="Run `ghl-sms login` again.",
                ) from None
            fresh = tokens.with_company(_company(grant, self._clock.now(), company.company_id))
            self.store.save(fresh)  # on disk before use: the old refresh token is dead now
            self._tokens = fresh
            return fresh
        finally:
            self.store.lock.release()

    # --- location tokens ------------------------------------------------------------------

    async def location_token(self, location_id: str, *, invalid: str | None = None) -> str:
        """A token for one sub-account: the cached one while it is fresh, else a new one
        from ``POST /oauth/locationToken`` (also when ``invalid`` is the cached one)."""
        # Asked before every request of every sub-account: a fresh cached token is handed
        # out without the lock. anyio's lock yields to the loop even when free, so taking
        # it here would let one request through per loop turn across all sub-accounts,
        # and a mint for one sub-account would hold up the requests of all the others.
        cached = self.tokens().locations.get(location_id)
        if cached is not None and self._usable(cached.access_token, cached.renew_at, invalid):
            return cached.access_token.reveal()
        async with self._lock:
            cached = self.tokens().locations.get(location_id)
            if cached is not None and self._usable(cached.access_token, cached.renew_at, invalid):
                return cached.access_token.reveal()
            self._tokens = self.store.load()  # another process may have minted one
            cached = self._tokens.locations.get(location_id)
            if cached is not None and self._usable(cached.access_token, cached.renew_at, invalid):
                return cached.access_token.reveal()
            minted = await self._mint(location_id)
            await self._remember(location_id, minted)
            return minted.access_token.reveal()

    async def _mint(self, location_id: str) -> CachedToken:
        tokens = await self._company_locked(None)
        oauth = self._client(tokens.app)
        company = tokens.company
        try:
            try:
                token = await oauth.location_token(
                    company.access_token.reveal(), company.company_id, location_id
                )
            except AuthenticationError:
                # The agency token may have been revoked or refreshed elsewhere: once more.
                tokens = await self._refresh(company.access_token.reveal())
                token = await oauth.location_token(
                    tokens.company.access_token.reveal(), tokens.company.company_id, location_id
                )
        except ApiError as exc:
            if exc.status_code in (400, 403, 404, 422):
                raise AccountsError(
                    f"GHL gave no token for sub-account {location_id} ({exc.message}).",
                    hint="Is the app installed on it? `ghl-sms locations` lists the "
                    "sub-accounts the agency login reaches.",
                ) from None
            raise
        now = self._clock.now()
        return CachedToken(
            access_token=Secret(token.access_token),
            expires_at=now + token.expires_in,
            renew_at=renew_time(now, token.expires_in),
            scope=token.scope,
        )

    async def _remember(self, location_id: str, token: CachedToken) -> None:
        await anyio.to_thread.run_sync(self.store.lock.acquire)
        try:
            current = self.store.load().with_location(location_id, token)
            self.store.save(current)
            self._tokens = current
        finally:
            self.store.lock.release()

    def provider(self, location_id: str) -> TokenProvider:
        """What ``GhlClient(token_provider=...)`` takes for one sub-account."""

        async def current(*, invalid: str | None = None) -> str:
            return await self.location_token(location_id, invalid=invalid)

        return current

    # --- the agency's sub-accounts --------------------------------------------------------

    async def installed_locations(
        self, *, query: str | None = None, page_size: int = 100
    ) -> list[InstalledLocation]:
        """Every sub-account that has the app installed, across pages."""
        async with self._lock:
            tokens = await self._company_locked(None)
        oauth = self._client(tokens.app)
        found: list[InstalledLocation] = []
        while True:
            page = await oauth.installed_locations(
                tokens.company.access_token.reveal(),
                tokens.company.company_id,
                app_id_of(tokens.app),
                skip=len(found),
                limit=page_size,
                query=query,
            )
            found.extend(page.locations)
            total = page.count if page.count is not None else len(found)
            if len(page.locations) < page_size or len(found) >= total:
                return found
