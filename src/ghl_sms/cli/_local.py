"""What the ledger-only commands (``history``, ``optouts``) share: the location they
read, the ledger file, who ran them, and where their output goes. None of it talks to
GHL or opens the embedded sandbox."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError
from ghl_sms.cli._storage import open_ledger
from ghl_sms.ops.ledger import Ledger

__all__ = [
    "local_ledger",
    "local_location",
    "looks_like_phone",
    "output_stream",
    "who_ran",
]


def local_location(settings: Settings) -> str:
    """The location whose records are read: the sandbox's with --sandbox (without opening
    it), else GHL_LOCATION_ID / --location. No token is needed."""
    if settings.sandbox and settings.oauth_store is None:  # else a sandbox agency login's
        from ghl_sms.sandbox import DEMO_LOCATION_ID  # lazily: only --sandbox needs it

        return DEMO_LOCATION_ID
    if settings.location_id:
        return settings.location_id
    raise CommandError(
        "No GHL sub-account (location) id: the ledger keeps each location's records apart.",
        EXIT_USAGE,
        hint="Set GHL_LOCATION_ID (in the environment or a .env file), pass --location ID, "
        "or add --sandbox for the embedded sandbox's.",
    )


@contextmanager
def local_ledger(app: AppContext, settings: Settings, *, create: bool) -> Iterator[Ledger]:
    """The ledger of this invocation (the sandbox's with --sandbox). A reader
    (``create=False``) never creates a file: with none yet, it reads an empty ledger."""
    path = app.ledger_path(settings)
    if not create and not path.exists() and not settings.database_url:
        ledger = Ledger.open(":memory:", app.clock)
    else:
        setting = (
            "point --ledger (GHL_SMS_LEDGER) at another folder"
            if settings.ledger_path is not None
            else "set GHL_SMS_DATA_DIR to a folder you can write"
        )
        ledger = open_ledger(path, app.clock, setting=setting, database_url=settings.database_url)
    try:
        yield ledger
    finally:
        ledger.close()


def who_ran(app: AppContext) -> str:
    """The OS user who ran the command, for the audit trail."""
    for variable in ("USER", "LOGNAME", "USERNAME"):
        name = app.environ.get(variable, "").strip()
        if name:
            return name
    return "unknown"


_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{7,}")


def looks_like_phone(value: str) -> bool:
    """A value given where a contact id is expected that is clearly a phone number."""
    return bool(_PHONE_LIKE.fullmatch(value.strip())) and sum(c.isdigit() for c in value) >= 7


@contextmanager
def output_stream(path: Path | None) -> Iterator[IO[str]]:
    """Standard output, or the file given with -o (created or replaced)."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(
            f"Cannot write {path}: {exc.strerror or exc}.",
            EXIT_USAGE,
            hint="Check the folder exists and you can write there, or leave out -o.",
        ) from None
    with handle:
        yield handle
