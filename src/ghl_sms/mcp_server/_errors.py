"""The one place where failures become texts the model can act on.

Each text says what went wrong and what to try next. Anything not listed here is a
bug: it propagates, the SDK logs the traceback and the model sees only
"Error executing tool <name>". Every error text leaves through ``error_result``, which
redacts it and keeps numbers and message bodies out of the INFO log.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ghl_sms.accounts._errors import AccountsError
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
    IdempotencyConflict,
    OpsError,
    PhoneGivenAsContact,
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    SendInProgressError,
    UsageError,
)
from ghl_sms.ops.hints import Credentials, hint_for

if TYPE_CHECKING:  # the preflight's rules are imported by the first refused send
    from ghl_sms.rules.preflight import Reason, Verdict

__all__ = [
    "CALL_CREDENTIALS",
    "anticipated_cause",
    "argument_error",
    "blocked_text",
    "error_result",
    "tool_error",
    "tool_errors",
    "unknown_arguments_error",
]

logger = logging.getLogger(__name__)

CALL_CREDENTIALS: ContextVar[Credentials | None] = ContextVar(
    "ghl_sms_call_credentials", default=None
)
"""Where the sub-account of the tool call in progress got its token and location id (a
config profile, or GHL_TOKEN and GHL_LOCATION_ID): set as the call picks its location."""

_SETUP = "Ask the user to run `ghl-sms doctor`, which checks the token, scopes and numbers."


def blocked_text(error: PreflightBlocked) -> str:
    from ghl_sms.rules.preflight import ReasonCode

    reasons = [
        _quiet_hours_text(error.verdict, r) if r.code == ReasonCode.QUIET_HOURS else
        f"[{r.code}] {r.message}"
        for r in error.reasons
    ]  # fmt: skip
    if not reasons:
        return f"{error} Nothing was sent."
    if [r.code for r in error.reasons] == [ReasonCode.QUIET_HOURS]:
        return f"Not sent: {reasons[0]} Nothing was sent."  # not never: later, or otherwise
    return (
        f"Not sent: the preflight blocked it. {' '.join(reasons)} Nothing was sent; don't "
        "retry the same send. Tell the user why, or fix what the reasons name (another "
        "recipient, number or text); sms_check shows a recipient's state."
    )


def _quiet_hours_text(verdict: Verdict, reason: Reason) -> str:
    """The service's refusal names the CLI's flags; the assistant needs the arguments."""
    from ghl_sms.ops._quiet import iso_utc

    quiet = verdict.quiet_hours
    if quiet is None:
        return f"[{reason.code}] {reason.message}"
    local = ", ".join(f"{t:%a %H:%M %Z}" for t in quiet.local_times)
    head = (
        f"[quiet_hours] For this send it is {local} for the recipient, outside the hours "
        f"marketing texts may reach them ({quiet.recipient.window.describe()})."
    )
    transactional = (
        "only if this is not marketing (a reminder, a code, a reply to them), with "
        "transactional=true"
    )
    override = (
        " Only if the user explicitly wants them texted in their quiet hours: "
        "ignore_quiet_hours=true."
    )
    if quiet.next_allowed_at is None:
        return (
            f"{head} No time in the next month is allowed for them; call again "
            f"{transactional}.{override}"
        )
    their_time = reason.details.get("next_allowed_local")
    theirs = f" ({their_time} their time)" if their_time else ""
    at = iso_utc(quiet.next_allowed_at)
    return (
        f"{head} The next allowed time is {at}{theirs}. Call sms_send again with "
        f'send_at="{at}", or, {transactional}.{override}'
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
    if isinstance(error, IdempotencyConflict):  # before UsageError: it is one
        return ToolError(f"{error} Nothing was sent; a new message needs a new idempotency_key.")
    if isinstance(error, PhoneGivenAsContact):  # the ops text names the CLI's --to
        return ToolError(
            f"{error.value.strip()!r} is a phone number, not a contact id: pass it as "
            "to_number, or find the contact's id with sms_contacts(query=...)."
        )
    if isinstance(error, RecipientNotFound):
        return ToolError(f"{error} sms_contacts(query=...) finds the right id.")
    if isinstance(error, SenderNotAvailable | UsageError | OpsError):
        return ToolError(str(error))
    if isinstance(error, AccountsError):  # a profile's token, the agency login
        hint = f" {error.hint}" if error.hint else ""
        return ToolError(f"{error}{hint} Nothing was sent.")
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
    hint = hint_for(error, CALL_CREDENTIALS.get()) or (
        "Retry once; if it happens again, tell the user (with the trace id, if any)."
    )
    text = f"{what} {hint}"
    if isinstance(error, AuthenticationError | PermissionDeniedError) and "doctor" not in text:
        text += f" {_SETUP}"
    elif isinstance(error, NotFoundError):
        text += " sms_contacts finds contact ids; sms_history lists message ids."
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


# --- arguments the SDK's validation refused --------------------------------------------
# pydantic's own text names its model, echoes the input and links to errors.pydantic.dev;
# the model needs one sentence per bad argument saying what it must be instead.


def argument_error(tool: str, error: ValidationError) -> ToolError:
    """One sentence per bad argument, then what to do; ``__cause__`` stays the
    ``ValidationError`` so the SDK-style log line carries field names only."""
    first: dict[str, ErrorDetails] = {}
    for detail in error.errors(include_url=False):
        first.setdefault(str(detail["loc"][0]) if detail["loc"] else "", detail)
    sentences = [_argument_sentence(detail) for detail in first.values()]
    fix = "Fix it" if len(sentences) == 1 else "Fix them"
    text = f"{' '.join(sentences)} {fix} and call {tool} again; nothing was done."
    mapped = ToolError(f"Error executing tool {tool}: {text}")
    mapped.__cause__ = error
    return mapped


def unknown_arguments_error(
    tool: str, unknown: Collection[str], known: Collection[str]
) -> ToolError:
    """An argument the tool doesn't have is refused, not ignored: a misspelt
    ``to_number`` or option would otherwise change what happens without a word."""
    sentences = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, known, n=1) or [
            k
            for k in known
            if k.startswith(f"{name}_")  # "to" for "to_number"
        ]
        guess = f" (did you mean {close[0]}?)" if close else ""
        sentences.append(f"{tool} has no argument {name!r}{guess}.")
    text = (
        f"{' '.join(sentences)} Its arguments are: {', '.join(known)}. Call again without "
        "the unknown ones; nothing was done."
    )
    return ToolError(f"Error executing tool {tool}: {text}")


def _argument_sentence(detail: ErrorDetails) -> str:
    loc = detail["loc"]
    name = str(loc[0]) if loc else "the arguments"
    name += "".join(f"[{part}]" for part in loc[1:] if isinstance(part, int))
    kind, ctx, value = detail["type"], detail.get("ctx") or {}, detail["input"]
    got = f" (got {_shown(value)})"
    if kind == "missing":
        return f"{name} is required."
    if kind == "string_type":
        example = f', e.g. "{value}"' if isinstance(value, int | float) else ""
        return f"{name} must be a string{example}{got}."
    if kind in ("bool_type", "bool_parsing"):
        return f"{name} must be true or false{got}."
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return f"{name} must be a whole number{got}."
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"{name} must be a number{got}."
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{name} must be {words} {ctx.get(key)}{got}."
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return f"{name} must not be empty."
        return f"{name} must have at least {ctx.get('min_length')} characters{got}."
    if kind == "string_too_long":
        have = f" (it has {len(value)})" if isinstance(value, str) else ""
        return f"{name} must be at most {ctx.get('max_length')} characters{have}."
    if kind in ("too_long", "too_short"):
        words = "at most" if kind == "too_long" else "at least"
        limit = ctx.get("max_length" if kind == "too_long" else "min_length")
        return f"{name} must hold {words} {limit} items (got {ctx.get('actual_length')})."
    if kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        example = f', e.g. ["{value}"]' if isinstance(value, str) and len(value) <= 60 else ""
        return f"{name} must be a list{example}{got}."
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{name} must be an object{got}."
    if kind == "literal_error":
        return f"{name} must be one of {ctx.get('expected')}{got}."
    if kind == "string_pattern_mismatch":
        return f"{name} does not have the expected form{got}."
    # Anything rarer: pydantic's short message without its codes and links, reworded.
    message = str(detail["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be").rstrip(".")
    if not message.startswith("must"):
        message = f"is not valid: {message[:1].lower()}{message[1:]}"
    return f"{name} {message}{got}."


def _shown(value: Any) -> str:
    """The rejected value as JSON would spell it, short: long strings by length only."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return text if len(text) <= 20 else f"a {len(text)}-digit number"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a {len(value)}-character string"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


# --- the way out --------------------------------------------------------------------------


def error_result(tool: str, error: ToolError, redact: Callable[[str], str]) -> CallToolResult:
    """What the model reads for a refused call: the text, redacted, as an error result.

    Only the kind of failure is logged at INFO; the text (which may quote a number or a
    message body) only at DEBUG.
    """
    cause = error.__cause__
    while isinstance(cause, ToolError) and cause.__cause__ is not None:
        cause = cause.__cause__  # the SDK wraps the tool's own ToolError: find its reason
    kind = type(cause).__name__ if cause is not None else "ToolError"
    if isinstance(cause, ValidationError):
        fields = sorted({str(d["loc"][0]) for d in cause.errors() if d["loc"]})
        logger.info("Tool %s refused arguments: %s", tool, ", ".join(fields))
    else:
        logger.info("Tool %s refused (%s)", tool, kind)
    text = redact(str(error))
    logger.debug("Tool %s refused: %r", tool, text)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def anticipated_cause(tool: str, error: UnexpectedToolError) -> ToolError | None:
    """An anticipated failure raised outside ``tool_errors`` still reads as itself."""
    cause = error.__cause__
    while cause is not None:
        mapped = None if isinstance(cause, UnexpectedToolError) else tool_error(cause)
        if mapped is not None:
            anticipated = ToolError(f"Error executing tool {tool}: {mapped}")
            anticipated.__cause__ = cause
            return anticipated
        cause = cause.__cause__
    return None
