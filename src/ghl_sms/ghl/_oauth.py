"""GHL's OAuth endpoints: the agency (Company) tokens of a marketplace app, and the
location tokens minted from them (ghl-api.md §1.1).

``POST /oauth/token`` and ``POST /oauth/locationToken`` take form-encoded bodies, not
JSON. Refresh tokens rotate: each refresh returns a new one and the old one is dead, so
a refresh is never repeated after it may have reached GHL (the caller persists the new
pair before using it). No token, secret or code ever appears in an error or a repr.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx2
from pydantic import BaseModel, ConfigDict, Field

from ghl_sms._clock import Clock
from ghl_sms.ghl._endpoint import DEFAULT_BASE_URL
from ghl_sms.ghl._errors import ConfigError
from ghl_sms.ghl._retry import RetryPolicy
from ghl_sms.ghl._wire import WireClient

__all__ = [
    "AUTHORIZE_URL",
    "OAUTH_VERSION",
    "InstalledLocation",
    "InstalledLocationPage",
    "LocationToken",
    "OAuthClient",
    "TokenGrant",
    "authorize_url",
]

AUTHORIZE_URL = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
OAUTH_VERSION = "2021-07-28"


class _OAuthModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class TokenGrant(_OAuthModel):
    """What ``POST /oauth/token`` answers (GHL's own field names on the wire)."""

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_in: float = 86399
    refresh_token: str | None = Field(default=None, repr=False)
    scope: str = ""
    user_type: str | None = Field(default=None, alias="userType")
    company_id: str | None = Field(default=None, alias="companyId")
    location_id: str | None = Field(default=None, alias="locationId")
    approved_locations: list[str] = Field(default_factory=list, alias="approvedLocations")
    user_id: str | None = Field(default=None, alias="userId")
    plan_id: str | None = Field(default=None, alias="planId")
    is_bulk_installation: bool | None = Field(default=None, alias="isBulkInstallation")


class LocationToken(_OAuthModel):
    """What ``POST /oauth/locationToken`` answers: a token for one sub-account."""

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_in: float = 86399
    scope: str = ""
    location_id: str | None = Field(default=None, alias="locationId")
    user_id: str | None = Field(default=None, alias="userId")
    plan_id: str | None = Field(default=None, alias="planId")
    app_id: str | None = Field(default=None, alias="appId")


class InstalledLocation(_OAuthModel):
    id: str = Field(alias="_id")
    name: str = ""
    address: str | None = None
    is_installed: bool | None = Field(default=None, alias="isInstalled")


class InstalledLocationPage(_OAuthModel):
    locations: list[InstalledLocation] = Field(default_factory=list)
    count: int | None = None


def authorize_url(
    *,
    client_id: str,
    redirect_uri: str,
    scopes: list[str] | tuple[str, ...],
    base: str = AUTHORIZE_URL,
    state: str | None = None,
) -> str:
    """The page an agency admin opens to install the app (chooses the agency/locations)."""
    params = {
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "scope": " ".join(scopes),
    }
    if state:
        params["state"] = state
    return str(httpx2.URL(base, params=params))


class OAuthClient(WireClient):
    """Talks to GHL's OAuth endpoints for one marketplace app.

    ``transport`` swaps the network (a mock in unit tests, the sandbox in contract
    tests); ``clock`` drives retry waits. The client secret is held here and never shown.
    """

    _server: ClassVar[str] = "GHL's OAuth server"
    # GHL's usual {"message": ...}, or OAuth's {"error", "error_description"}.
    _message_keys: ClassVar[tuple[str, ...]] = ("message", "error_description", "error")

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not client_id or not client_id.strip():
            raise ConfigError("An OAuth client id is required (the app's Client ID).")
        if not client_secret or not client_secret.strip():
            raise ConfigError("An OAuth client secret is required (the app's Client Secret).")
        self.client_id = client_id.strip()
        self._secret = client_secret.strip()
        self._open_wire(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            clock=clock,
            retry=retry,
            rng=rng,
            headers={},
            secrets=[self._secret],
        )

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.client_id!r}, base_url={self.base_url!r})"

    # --- the endpoints --------------------------------------------------------------------

    async def exchange_code(
        self, code: str, redirect_uri: str, *, user_type: str = "Company"
    ) -> TokenGrant:
        """Trade the authorization code from the redirect for the first token pair."""
        form = {
            "client_id": self.client_id,
            "client_secret": self._secret,
            "grant_type": "authorization_code",
            "code": self._hide(code),
            "user_type": user_type,
            "redirect_uri": redirect_uri,
        }
        data = await self._call("POST", "/oauth/token", form=form, repeatable=False)
        return self._remember(self._parse(TokenGrant, data, "POST", "/oauth/token"))

    async def refresh(self, refresh_token: str, *, user_type: str = "Company") -> TokenGrant:
        """A new token pair; ``refresh_token`` is dead afterwards (it rotates).

        Never repeated once it may have reached GHL: a second try would present a token
        GHL may already have burned.
        """
        form = {
            "client_id": self.client_id,
            "client_secret": self._secret,
            "grant_type": "refresh_token",
            "refresh_token": self._hide(refresh_token),
            "user_type": user_type,
        }
        data = await self._call("POST", "/oauth/token", form=form, repeatable=False)
        return self._remember(self._parse(TokenGrant, data, "POST", "/oauth/token"))

    async def location_token(
        self, company_access_token: str, company_id: str, location_id: str
    ) -> LocationToken:
        """A token for one sub-account, minted from the agency token."""
        form = {"companyId": company_id, "locationId": location_id}
        data = await self._call(
            "POST",
            "/oauth/locationToken",
            form=form,
            bearer=self._hide(company_access_token),
            versioned=True,
            repeatable=True,  # minting another token changes nothing that matters
        )
        token = self._parse(LocationToken, data, "POST", "/oauth/locationToken")
        self._hide(token.access_token)
        return token

    async def installed_locations(
        self,
        company_access_token: str,
        company_id: str,
        app_id: str,
        *,
        skip: int = 0,
        limit: int = 100,
        query: str | None = None,
    ) -> InstalledLocationPage:
        """One page of the sub-accounts that have the app installed."""
        params: dict[str, Any] = {
            "companyId": company_id,
            "appId": app_id,
            "isInstalled": "true",
            "skip": str(skip),
            "limit": str(limit),
        }
        if query:
            params["query"] = query
        path = "/oauth/installedLocations"
        data = await self._call(
            "GET",
            path,
            params=params,
            bearer=self._hide(company_access_token),
            versioned=True,
            repeatable=True,
        )
        return self._parse(InstalledLocationPage, data, "GET", path)

    # --- the request loop -----------------------------------------------------------------

    def _remember(self, grant: TokenGrant) -> TokenGrant:
        self._hide(grant.access_token)
        if grant.refresh_token:
            self._hide(grant.refresh_token)
        return grant

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        bearer: str | None = None,
        versioned: bool = False,
        repeatable: bool,
    ) -> Any:
        headers: dict[str, str] = {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        if versioned:
            headers["Version"] = OAUTH_VERSION
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, data=form, params=params, headers=headers
                )
            except httpx2.TransportError as exc:
                failure = self._transport_error(exc, method, path)
                if await self._wait_to_retry(
                    failure, attempt, idempotent=repeatable, method=method, path=path
                ):
                    attempt += 1
                    continue
                raise failure from None
            if response.status_code < 400:
                return self._json(response, method, path)
            error = self._api_error(response, method, path)
            # A 429 was refused before processing, so even a refresh may be repeated.
            if await self._wait_to_retry(
                error, attempt, idempotent=repeatable, method=method, path=path
            ):
                attempt += 1
                continue
            raise error
