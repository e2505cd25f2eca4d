"""The request loop under every ``GhlClient`` endpoint method: pace, send with the
current token, renew a stale token once, retry what is safe, map errors, read JSON.

The endpoint groups (``_messages``, ``_conversations``, ``_contacts``, ``_location``)
build on ``ApiCaller``; ``GhlClient`` (``_client``) puts them together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx2

from ghl_sms.ghl._errors import (
    ApiError,
    ConfigError,
    GhlError,
    RateLimitError,
    SendOutcomeUnknownError,
)
from ghl_sms.ghl._pacing import DailyLimitExhausted, RequestPacer
from ghl_sms.ghl._wire import WireClient

__all__ = ["ApiCaller", "TokenProvider", "seg", "token_problem", "unwrap"]

logger = logging.getLogger("ghl_sms.ghl")

# A 401 that a fresh token may cure (expired or invalid), unlike a missing scope or an
# agency token on a location route ("Token's user type mismatch!").
_STALE_TOKEN = re.compile(r"invalid jwt|invalid token|expired|jwt", re.IGNORECASE)
_SCOPE_OR_CLASS = re.compile(r"scope|user type|authclass", re.IGNORECASE)


class TokenProvider(Protocol):
    """Hands out the current bearer token (an OAuth location token that rotates).

    Called before each request; called with ``invalid=`` the token GHL just refused as
    expired or invalid, it must return a fresh one (or raise).
    """

    async def __call__(self, *, invalid: str | None = None) -> str: ...


def token_problem(token: str) -> str | None:
    if any(c.isspace() or not c.isprintable() for c in token):
        # Never echoed: a pasted token with a line break is still the secret.
        return (
            "The GHL token contains spaces, line breaks or control characters (a "
            "copy-paste slip?); copy the whole token again. It is not shown here."
        )
    return None


def seg(value: str) -> str:
    """One path segment, escaped so an id can never change the route."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


class ApiCaller(WireClient):
    """What the endpoint groups share: the location, the pacer, the API versions, the
    token (static or from a provider) and ``_call``. ``GhlClient.__init__`` sets them."""

    location_id: str
    pacer: RequestPacer
    _token: str
    _token_provider: TokenProvider | None
    _versions: dict[str, str]

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        module: str = "conversations",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """One request to an endpoint no typed method covers (``ghl-sms doctor``'s scope
        probes, say), with the same pacing, API version (``module``'s), token, retries of
        what is safe, and error mapping; the parsed JSON body."""
        return await self._call(method, path, module=module, params=params, json=json)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        module: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        idempotent: bool | None = None,
        is_send: bool = False,
        json_body: bool = True,
    ) -> Any:
        """Make one logical call: pace, send, retry what is safe, map errors, parse JSON."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "OPTIONS")
        headers: dict[str, str] | None = None
        version = self._versions[module]
        if version != self._versions["conversations"]:
            headers = {"Version": version}
        if json_body and json is None:
            # Real clients send it on every request, GET and DELETE included; with a JSON
            # body httpx2 sets it itself.
            headers = {**(headers or {}), "Content-Type": "application/json"}
        attempt = 0
        token: str | None = None
        renewed = False  # at most one fresh token per call
        while True:
            if self._token_provider is not None and not (renewed and token is not None):
                token = await self._current_token(None)
                headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
            try:
                await self.pacer.acquire()
            except DailyLimitExhausted as exc:
                exhausted = RateLimitError(str(exc), status_code=429, method=method, path=path)
                exhausted.daily_exhausted = True
                exhausted.retryable = False
                raise exhausted from None
            started = self._clock.now()
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, data=data, files=files, headers=headers
                )
            except httpx2.TransportError as exc:
                failure = self._transport_error(exc, method, path)
                if await self._wait_to_retry(
                    failure, attempt, idempotent=idempotent, method=method, path=path
                ):
                    attempt += 1
                    continue
                if is_send and failure.reached_server:
                    raise self._outcome_unknown(failure) from None
                raise failure from None
            self.pacer.observe(response.headers)
            if logger.isEnabledFor(logging.DEBUG):
                elapsed_ms = (self._clock.now() - started) * 1000
                status = response.status_code
                logger.debug("%s %s -> %s (%.0f ms)", method, path, status, elapsed_ms)
            if response.status_code < 400:
                return self._json(response, method, path)
            error = self._api_error(response, method, path)
            if token is not None and not renewed and _is_stale_token(error):
                # Refused before processing: safe to repeat, sends included, once.
                renewed = True
                token = await self._current_token(token)
                headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
                continue
            if await self._wait_to_retry(
                error, attempt, idempotent=idempotent, method=method, path=path
            ):
                attempt += 1
                continue
            if is_send and response.status_code >= 500:
                raise self._outcome_unknown(error)
            raise error

    def _outcome_unknown(self, cause: GhlError) -> SendOutcomeUnknownError:
        error = SendOutcomeUnknownError(
            "The send may have reached GHL but no usable answer came back "
            f"({cause.message}); check the conversation before sending again.",
            method=cause.method,
            path=cause.path,
            status_code=cause.status_code,
            trace_id=cause.trace_id,
        )
        error.retryable = False
        return error

    async def _current_token(self, invalid: str | None) -> str:
        assert self._token_provider is not None
        token = (await self._token_provider(invalid=invalid)).strip()
        problem = token_problem(token) if token else "The token provider gave no token."
        if problem is not None:
            raise ConfigError(problem)
        return self._hide(token)


def _is_stale_token(error: ApiError) -> bool:
    if error.status_code != 401:
        return False
    text = " ".join(error.messages)
    return bool(_STALE_TOKEN.search(text)) and not _SCOPE_OR_CLASS.search(text)


def unwrap(data: Any, key: str) -> Any:
    """The object under ``key`` when GHL wrapped it in an envelope, else ``data``."""
    if isinstance(data, dict) and isinstance(data.get(key), dict):
        return data[key]
    return data
