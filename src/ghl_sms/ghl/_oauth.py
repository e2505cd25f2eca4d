"""GHL's OAuth endpoints: the agency (Company) tokens of a marketplace app, and the
location tokens minted from them (ghl-api.md §1.1).

``POST /oauth/token`` and ``POST /oauth/locationToken`` take form-encoded bodies, not
JSON. Refresh tokens rotate: each refresh returns a new one and the old one is dead, so
a refresh is never repeated after it may have reached GHL (the caller persists the new
pair before using it). No token, secret or code ever appears in an error or a repr.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ghl_sms._clock import Clock, SystemClock
from ghl_sms.ghl._errors import (
    ApiError,
    ConfigError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    TransportError,
    error_for_status,
    redact_secret,
)
from ghl_sms.ghl._retry import RetryPolicy

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

logger = logging.getLogger("ghl_sms.ghl")

AUTHORIZE_URL = "https://marketplace.gohighlevel.com/v2/oauth/chooselocation"
OAUTH_VERSION = "2021-07-28"
_DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
_USER_AGENT = "ghl-sms/0.1.0"
_NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
_M = TypeVar("_M", bound=BaseModel)


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


class OAuthClient:
    """Talks to GHL's OAuth endpoints for one marketplace app.

    ``transport`` swaps the network (a mock in unit tests, the sandbox in contract
    tests); ``clock`` drives retry waits. The client secret is held here and never shown.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        base_url: str = _DEFAULT_BASE_URL,
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
        self.base_url = base_url.rstrip("/")
        self._clock: Clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._secrets: list[str] = [self._secret]
        self._http = httpx2.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.client_id!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OAuthClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

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
        self._secrets.append(token.access_token)
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

    def _hide(self, secret: str) -> str:
        """Remember a value for redaction, and hand it back."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
        return secret

    def _remember(self, grant: TokenGrant) -> TokenGrant:
        self._hide(grant.access_token)
        if grant.refresh_token:
            self._hide(grant.refresh_token)
        return grant

    def redact(self, text: str) -> str:
        """``text`` without the secret, or any token or code this client has handled."""
        for secret in self._secrets:
            text = redact_secret(text, secret)
        return text

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
                if self._retry.should_retry(
                    attempt=attempt,
                    status=None,
                    reached_server=failure.reached_server,
                    idempotent=repeatable,
                ):
                    await self._clock.sleep(self._retry.delay(attempt, self._rng))
                    attempt += 1
                    continue
                raise failure from None
            if response.status_code < 400:
                return self._json(response, method, path)
            error = self._api_error(response, method, path)
            # A 429 was refused before processing, so even a refresh may be repeated.
            if self._retry.should_retry(
                attempt=attempt,
                status=response.status_code,
                reached_server=True,
                idempotent=repeatable,
            ):
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                await self._clock.sleep(self._retry.delay(attempt, self._rng, retry_after))
                attempt += 1
                continue
            raise error

    def _transport_error(
        self, exc: httpx2.TransportError, method: str, path: str
    ) -> TransportError:
        reached = not isinstance(exc, _NEVER_SENT)
        kind = type(exc).__name__
        if isinstance(exc, httpx2.TimeoutException):
            return RequestTimeout(
                f"GHL's OAuth server did not answer in time ({kind})",
                reached_server=reached,
                method=method,
                path=path,
            )
        return TransportError(
            f"No response from GHL's OAuth server ({kind}: "
            f"{self.redact(str(exc)) or 'connection failed'})",
            reached_server=reached,
            method=method,
            path=path,
        )

    def _api_error(self, response: httpx2.Response, method: str, path: str) -> ApiError:
        status = response.status_code
        messages: list[str] = []
        trace_id: str | None = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            # GHL's usual {"message": ...}, or OAuth's {"error", "error_description"}.
            raw = body.get("message", body.get("error_description", body.get("error")))
            if isinstance(raw, list):
                messages = [self.redact(str(m)) for m in raw]
            elif raw is not None:
                messages = [self.redact(str(raw))]
            trace = body.get("traceId")
            trace_id = self.redact(str(trace)) if trace else None
        elif response.content:
            messages = [self.redact(response.text[:200])]
        if not messages:
            messages = [response.reason_phrase or f"HTTP {status}"]
        text = "; ".join(messages)
        cls = error_for_status(status)
        kwargs: dict[str, Any] = {
            "status_code": status,
            "method": method,
            "path": path,
            "messages": messages,
            "trace_id": trace_id,
        }
        if cls is RateLimitError:
            return RateLimitError(text, **kwargs)
        return cls(text, **kwargs)

    def _json(self, response: httpx2.Response, method: str, path: str) -> Any:
        try:
            return json.loads(response.content) if response.content else {}
        except ValueError:
            raise ResponseValidationError(
                f"GHL answered {response.status_code} with a body that is not JSON",
                method=method,
                path=path,
                status_code=response.status_code,
            ) from None

    def _parse(self, model: type[_M], data: Any, method: str, path: str) -> _M:
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            raise ResponseValidationError(
                f"GHL's answer did not have the expected shape of {model.__name__}: "
                f"{exc.error_count()} problem(s), first: {first['msg']} at "
                f"{'.'.join(str(p) for p in first['loc'])}",
                method=method,
                path=path,
            ) from None  # pydantic's text quotes the body, which holds tokens
