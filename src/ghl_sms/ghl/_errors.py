"""Errors raised by the GHL client.

    GhlError                         anything ghl_sms raises on purpose
    ├── ConfigError                  missing or invalid settings
    ├── TransportError               no HTTP response arrived; .reached_server
    │   └── RequestTimeout
    ├── ApiError                     GHL answered with an error status
    │   ├── InvalidRequestError      400 and 422 (422 bodies carry a list of messages)
    │   ├── AuthenticationError      401: bad token, or a scope the token lacks
    │   ├── PermissionDeniedError    403: e.g. a token for another location
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── RateLimitError           429; .retry_after
    │   └── ServerError              5xx
    ├── SendOutcomeUnknownError      a send may have reached GHL and no answer came back
    └── ResponseValidationError      a 2xx body did not fit the expected shape

Every error carries the request's method and path, GHL's messages verbatim, the trace id
when GHL sent one, and ``retryable``: whether repeating the request is safe and may help.
Errors never carry the token, the request headers or the request body.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "redact_secret",
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "GhlError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseValidationError",
    "SendOutcomeUnknownError",
    "ServerError",
    "TransportError",
    "error_for_status",
]


class GhlError(Exception):
    """Root of every error ghl_sms raises on purpose."""

    retryable: bool = False
    may_have_been_sent: bool = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status_code: int | None = None,
        messages: list[str] | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status_code = status_code
        self.messages = messages if messages is not None else [message]
        self.trace_id = trace_id

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        trace = f" [trace {self.trace_id}]" if self.trace_id else ""
        return f"{self.message}{where}{trace}"

    def __repr__(self) -> str:
        fields = {
            "message": self.message,
            "status_code": self.status_code,
            "method": self.method,
            "path": self.path,
            "trace_id": self.trace_id,
        }
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v is not None)
        return f"{type(self).__name__}({shown})"


class ConfigError(GhlError):
    """Settings are missing or invalid; the message says which and how to fix it."""


class TransportError(GhlError):
    """No HTTP response arrived.

    ``reached_server`` is False only when the request provably never left (the
    connection was refused or never opened); then repeating it is always safe.
    """

    def __init__(self, message: str, *, reached_server: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reached_server = reached_server
        self.retryable = True  # the retry policy still decides per method


class RequestTimeout(TransportError):
    """GHL did not answer in time."""


class ApiError(GhlError):
    """GHL answered with an error status."""

    def __init__(self, message: str, *, status_code: int, **kwargs: Any) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.status_code: int = status_code


class InvalidRequestError(ApiError):
    """400 or 422: GHL refused the request as invalid (DND, missing phone, bad field)."""


class AuthenticationError(ApiError):
    """401: the token is invalid or expired, or lacks a scope this call needs."""


class PermissionDeniedError(ApiError):
    """403: the token may not act on this location or resource."""


class NotFoundError(ApiError):
    """404: no such resource (or a cancel of a message that is not scheduled)."""


class ConflictError(ApiError):
    """409."""


class RateLimitError(ApiError):
    """429: over GHL's burst (100 per 10 s) or daily (200,000) limit."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.daily_exhausted = False


class ServerError(ApiError):
    """5xx: GHL failed."""

    retryable = True


class SendOutcomeUnknownError(GhlError):
    """A send may have reached GHL, and no usable answer came back.

    The message may or may not have gone out. Never retry it blindly: look for it in
    the contact's conversation first (the ledger in ``ghl_sms.ops`` does this).
    """

    may_have_been_sent = True


class ResponseValidationError(GhlError):
    """A 2xx body did not have the shape we expect."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[ApiError]:
    """The one table from HTTP status to error class."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return InvalidRequestError if 400 <= status < 500 else ApiError


REDACTED = "[REDACTED]"
_TOKEN_PREFIXES = ("pit-",)


def redact_secret(text: str, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` replaced, whatever its case (a server
    may echo a token lower- or upper-cased), and of its random part without a ``pit-``
    prefix (echoed on its own, it is the same secret)."""
    if not secret or not text:
        return text
    parts = {secret}
    for prefix in _TOKEN_PREFIXES:
        if secret.lower().startswith(prefix) and len(secret) - len(prefix) >= 16:
            parts.add(secret[len(prefix) :])
    pattern = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    return re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
