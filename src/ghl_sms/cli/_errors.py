"""The CLI's one error path: exit codes (README), and errors as lines or as JSON.

Every command's failures end here: a ``CommandError`` shows one or two lines on stderr,
or, under ``--json``, ``{"error": {"code", "message", "hint"}}`` on stdout, with the
same exit code either way. Anything not anticipated is a bug and is left to ``main()``.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ghl_sms.ops.errors import PreflightBlocked
    from ghl_sms.ops.hints import Credentials

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CommandError",
    "blocked_error",
    "error_json",
    "interrupted",
    "known_errors",
    "scrub_secrets",
    "translate",
    "wants_json",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

_CODE_OF_EXIT = {EXIT_FAILED: "failed", EXIT_USAGE: "usage", EXIT_BLOCKED: "blocked"}


def scrub_secrets(text: str) -> str:
    """``text`` without the passwords of the URLs in it (``postgresql://u:***@host/db``).

    Every error the CLI shows passes here: a driver's message may quote the whole URL
    it was given (libpq does for a URL it cannot parse). The library's own
    ``ops.storage.sql.scrub_secrets``, imported only when an error is shown.
    """
    from ghl_sms.ops.storage.sql import scrub_secrets as scrub

    return scrub(text)


def known_errors() -> tuple[type[Exception], ...]:
    """What a command's async body may raise on purpose (``run_async`` translates these).

    Imported when an error is handled, not at start: naming them loads the ledger, and
    ``ghl-sms --help`` needs none of it (so neither do ``translate`` and ``blocked_error``).
    """
    from ghl_sms.ghl import GhlError
    from ghl_sms.ops.errors import OpsError, RepeatSendError, SendInProgressError

    return (GhlError, OpsError, RepeatSendError, SendInProgressError, ValueError)


class CommandError(click.ClickException):
    """One or two lines on stderr and an exit code; never a traceback.

    ``code`` is the stable name scripts see under ``--json`` (default: from the exit
    code); ``details`` are extra fields of the JSON error object (e.g. the preflight's
    notes).
    """

    def __init__(
        self,
        message: str,
        code: int = EXIT_FAILED,
        hint: str | None = None,
        *,
        name: str | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(scrub_secrets(message))
        self.exit_code = code  # type: ignore[misc]  # click declares it a ClassVar
        self.hint = None if hint is None else scrub_secrets(hint)
        self.name = name or _CODE_OF_EXIT.get(code, "failed")
        self.details = details or {}

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        click.echo(f"Error: {self.message}", file=stream)
        if self.hint:
            click.echo(f"Hint: {self.hint}", file=stream)


def _snake(name: str) -> str:
    """``RecipientNotFound`` -> ``recipient_not_found``; ``NotFoundError`` -> ``not_found``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower()


def translate(error: BaseException) -> CommandError | None:
    """The exit code and the one or two lines a person sees for an anticipated error;
    None for anything else (a bug)."""
    from ghl_sms.ghl import ConfigError, GhlError
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

    if isinstance(error, CommandError):
        return error
    name = _snake(type(error).__name__)
    if isinstance(error, PreflightBlocked | RepeatSendError):
        return CommandError(str(error), EXIT_BLOCKED, name=name)
    if isinstance(error, UsageError | SenderNotAvailable):
        return CommandError(str(error), EXIT_USAGE, name=name)
    if isinstance(error, RecipientNotFound | SendInProgressError | OpsError):
        # An unknown id is a failure (1), like GHL's own "not found", not a usage error.
        exit_code = EXIT_USAGE if name == "ledger_unusable" else EXIT_FAILED
        return CommandError(str(error), exit_code, name=name)
    if isinstance(error, ConfigError):
        hint = getattr(error, "hint", None)  # the credentials' errors carry a next step
        return CommandError(str(error), EXIT_USAGE, hint=hint, name="config")
    if isinstance(error, GhlError):
        return CommandError(
            str(error), EXIT_FAILED, hint=hint_for(error, _credentials()), name=name
        )
    if isinstance(error, ValueError):
        return CommandError(str(error), EXIT_USAGE, name="usage")
    return None


def _credentials() -> Credentials | None:
    """Where this command's token and location id came from (a config profile, or the
    environment), as ``connection_options`` resolved them."""
    from ghl_sms.ops.hints import Credentials

    context = click.get_current_context(silent=True)
    profile = getattr(context.obj if context else None, "profile", None)
    return Credentials(profile=profile) if isinstance(profile, str) else None


def blocked_error(blocked: PreflightBlocked) -> CommandError:
    """A refused send: the reasons, and for quiet hours the time to paste into --at.

    Under --json the error object carries the preflight's notes and the next allowed time.
    """
    from ghl_sms.ops._quiet import iso_utc
    from ghl_sms.ops.models import Note
    from ghl_sms.rules.preflight import ReasonCode

    notes = [note.model_dump(mode="json") for note in Note.all_of(blocked.verdict)]
    details: dict[str, Any] = {"notes": notes}
    message, hint = str(blocked), None
    quiet = [r for r in blocked.reasons if r.code == ReasonCode.QUIET_HOURS]
    if quiet and len(blocked.reasons) == 1:
        # The ops text names both faces' options (--at / send_at); the CLI says it its way:
        # where they are and why, then the time to paste and the ways forward.
        situation = re.split(r" (?=The next allowed time|No time in the next)", quiet[0].message)
        moment = blocked.verdict.next_allowed_at
        details["next_allowed_at"] = iso_utc(moment) if moment else None
        local = quiet[0].details.get("next_allowed_local")
        if moment is None:
            message = f"Not sent: {situation[0]} No time in the next month is allowed for them."
            ways = "add"
        else:
            message = (
                f"Not sent: {situation[0]} The next allowed time is "
                f"{f'{local} ({iso_utc(moment)})' if local else iso_utc(moment)}."
            )
            ways = f"schedule it then with --at {iso_utc(moment)}, or add"
        hint = (
            f"To text them, {ways} --transactional if it is not marketing (a reminder, a code, "
            "a reply). --ignore-quiet-hours sends it now anyway, on purpose."
        )
    return CommandError(message, EXIT_BLOCKED, hint=hint, name="blocked", details=details)


def interrupted() -> CommandError:
    return CommandError(
        "Stopped by Ctrl-C.",
        EXIT_INTERRUPTED,
        hint="Anything already sent stays sent; running the same command again never "
        "texts anyone twice.",
        name="interrupted",
    )


def error_json(error: click.ClickException) -> str:
    """The ``--json`` form of an error: one line, parseable on its own."""
    hint = getattr(error, "hint", None)
    if isinstance(error, click.UsageError) and error.ctx is not None:
        command = " ".join(["ghl-sms", *error.ctx.command_path.split()[1:]])
        hint = f"See `{command} --help` for the options and examples."
    body: dict[str, Any] = {
        "code": getattr(error, "name", None) or "usage",
        "message": error.format_message(),
        "hint": hint,
    }
    body.update(getattr(error, "details", {}))
    return json.dumps({"error": body}, ensure_ascii=False, default=str)


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON (``--json`` before any ``--``)."""
    options = args[: args.index("--")] if "--" in args else args
    return "--json" in options
