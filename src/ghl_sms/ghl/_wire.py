"""What the API client and the OAuth client both do around an HTTP request: hold the
httpx2 client, wait and retry what is safe, turn failures into ``GhlError``s, read JSON
and models, and keep every secret they handled out of error texts."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

import httpx2
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ghl_sms._clock import Clock, SystemClock
from ghl_sms.ghl._errors import (
    ApiError,
    GhlError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    TransportError,
    error_for_status,
    redact_secret,
)
from ghl_sms.ghl._retry import RetryPolicy

__all__ = ["WireClient"]

logger = logging.getLogger("ghl_sms.ghl")

_USER_AGENT = "ghl-sms/0.1.0"
_M = TypeVar("_M", bound=BaseModel)

# Failures that happen before a byte of the request could have been processed.
_NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


class WireClient:
    """The shared core of ``GhlClient`` and ``OAuthClient``.

    ``_server`` names the other end in transport errors; ``_message_keys`` are the body
    fields an error answer's text is read from, first found wins; ``_keep_secrets`` bounds
    how many handled secrets are remembered for redaction (None: all of them).
    """

    _server: ClassVar[str] = "GHL"
    _message_keys: ClassVar[tuple[str, ...]] = ("message", "msg", "error")
    _keep_secrets: ClassVar[int | None] = None

    def _open_wire(
        self,
        *,
        base_url: str,
        timeout: float,
        transport: httpx2.AsyncBaseTransport | None,
        clock: Clock | None,
        retry: RetryPolicy | None,
        rng: random.Random | None,
        headers: Mapping[str, str],
        secrets: list[str],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._clock: Clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._secrets = secrets
        self._http = httpx2.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT, **headers},
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- secrets --------------------------------------------------------------------------

    def _hide(self, secret: str) -> str:
        """Remember a value for redaction, and hand it back."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            if self._keep_secrets is not None:
                del self._secrets[: -self._keep_secrets]
        return secret

    def redact(self, text: str) -> str:
        """``text`` without any secret this client holds or was handed lately, in any
        case: for whatever leaves the process or is stored (error texts in the ledger)."""
        for secret in self._secrets:
            text = redact_secret(text, secret)
        return text

    # --- retries --------------------------------------------------------------------------

    async def _wait_to_retry(
        self, failure: GhlError, attempt: int, *, idempotent: bool, method: str, path: str
    ) -> bool:
        """Wait and say True when the retry policy repeats the request after ``failure``
        (retry number ``attempt + 1``); False when the caller should give up."""
        if isinstance(failure, TransportError):
            status, reached = None, failure.reached_server
        else:
            status, reached = failure.status_code, True
        retry_after: float | None = None
        if isinstance(failure, RateLimitError):
            if failure.daily_exhausted:
                return False
            retry_after = failure.retry_after
        if not self._retry.should_retry(
            attempt=attempt, status=status, reached_server=reached, idempotent=idempotent
        ):
            return False
        delay = self._retry.delay(attempt, self._rng, retry_after)
        logger.info("retrying %s %s in %.2f s after %r", method, path, delay, failure)
        await self._clock.sleep(delay)
        return True

    # --- failures and answers -------------------------------------------------------------

    def _transport_error(
        self, exc: httpx2.TransportError, method: str, path: str
    ) -> TransportError:
        reached = not isinstance(exc, _NEVER_SENT)
        kind = type(exc).__name__
        if isinstance(exc, httpx2.TimeoutException):
            return RequestTimeout(
                f"{self._server} did not answer in time ({kind})",
                reached_server=reached,
                method=method,
                path=path,
            )
        return TransportError(
            f"No response from {self._server} "
            f"({kind}: {self.redact(str(exc)) or 'connection failed'})",
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
            raw = next((body[key] for key in self._message_keys if key in body), None)
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
        cls = error_for_status(status)
        kwargs: dict[str, Any] = {
            "status_code": status,
            "method": method,
            "path": path,
            "messages": messages,
            "trace_id": trace_id,
        }
        text = "; ".join(messages)
        if cls is RateLimitError:
            limited = RateLimitError(
                text, retry_after=_retry_after_seconds(response.headers), **kwargs
            )
            if response.headers.get("x-ratelimit-daily-remaining") == "0":
                limited.daily_exhausted = True
                limited.retryable = False
            return limited
        return cls(text, **kwargs)

    def _json(self, response: httpx2.Response, method: str, path: str) -> Any:
        if not response.content:
            return {}
        try:
            return json.loads(response.content)
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
            ) from None  # pydantic's text quotes the body, which could echo tokens


def _retry_after_seconds(headers: httpx2.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
