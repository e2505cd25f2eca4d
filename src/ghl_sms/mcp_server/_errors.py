"""The one place where failures become ``ToolError`` texts the model can act on.

Each text says what went wrong and what to try next. Anything not listed here is a
bug: it propagates, the SDK logs the traceback and the model sees only
"Error executing tool <name>".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from ghl_sms.ghl import (
    AuthenticationError,
    ConfigError,
    GhlError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    SendOutcomeUnknownError,
)
from ghl_sms.ops.errors import (
    OpsError,
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    SendInProgressError,
    UsageError,
)
from ghl_sms.ops.hints import hint_for

__all__ = ["blocked_text", "tool_error", "tool_errors"]

_SETUP = "Ask the user to run `ghl-sms doctor`, which checks the token, scopes and numbers."


def blocked_text(error: PreflightBlocked) -> str:
    reasons = " ".join(f"[{r.code}] {r.message}" for r in error.reasons)
    return (
        f"Not sent: the preflight blocked it. {reasons} Nothing was sent; don't retry the "
        "same send. Tell the user why, or fix what the reasons name (another recipient, "
        "number or text); sms_check shows a recipient's state."
    )


def tool_error(error: BaseException) -> ToolError | None:
    """The ``ToolError`` for an anticipated failure, or None for a bug."""
    if isinstance(error, ToolError):
        return error
    if isinstance(error, PreflightBlocked):
        return ToolError(blocked_text(error))
    if isinstance(error, RepeatSendError):
        earlier = error.previous.message_id
        follow = f" sms_status('{earlier}') follows the earlier one." if earlier else ""
        return ToolError(f"{error} Nothing was sent.{follow}")
    if isinstance(error, SendInProgressError):
        return ToolError(f"{error} Nothing new was sent.")
    if isinstance(error, RecipientNotFound):
        return ToolError(f"{error} Find the right id with sms_inbox or sms_thread.")
    if isinstance(error, SenderNotAvailable | UsageError | OpsError):
        return ToolError(str(error))
    if isinstance(error, GhlError):
        return ToolError(_ghl_text(error))
    return None


def _ghl_text(error: GhlError) -> str:
    # str(error) carries GHL's own words, the request line and the trace id, never the token.
    what = f"GHL error: {str(error).rstrip('.')}."
    if isinstance(error, SendOutcomeUnknownError):
        return (
            f"{what} The message may or may not have gone out. Call sms_send again with "
            "exactly the same arguments: it looks for the message in the conversation first "
            "and sends only if it is not there."
        )
    if isinstance(error, RateLimitError):
        wait = f"{error.retry_after:.0f} s" if error.retry_after else "a few seconds"
        if error.daily_exhausted:
            return f"{what} GHL's daily request limit is used up; try again tomorrow."
        return f"{what} GHL's rate limit was hit; wait {wait} and retry. Nothing was sent."
    if isinstance(error, ConfigError):
        return f"{what} The server is misconfigured. {_SETUP}"
    if isinstance(error, ResponseValidationError):
        return (
            f"{what} GHL answered in a shape ghl-sms does not understand; retry once, then "
            "report it as a ghl-sms bug."
        )
    hint = hint_for(error) or (
        "Retry once; if it happens again, tell the user (with the trace id, if any)."
    )
    text = f"{what} {hint}"
    if isinstance(error, AuthenticationError | PermissionDeniedError) and "doctor" not in text:
        text += f" {_SETUP}"
    elif isinstance(error, NotFoundError):
        text += " sms_inbox and sms_thread list valid ids."
    return text


@contextmanager
def tool_errors() -> Iterator[None]:
    """Around every tool body and resolver: anticipated failures become ``ToolError``."""
    try:
        yield
    except Exception as exc:
        mapped = tool_error(exc)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
