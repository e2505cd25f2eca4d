"""The CLI's files (the data dir, the ledger, the sandbox file): usable, or a clear error.

A folder that is a file, a folder that cannot be written, a ledger that is not a ghl-sms
database: each is a configuration error (exit 2) naming the path and what to do. A file
that exists is never overwritten or re-created.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ghl_sms._clock import Clock
from ghl_sms.cli._errors import EXIT_USAGE, CommandError
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.ledger import Ledger

__all__ = [
    "check_database_url",
    "ensure_folder",
    "open_database",
    "open_ledger",
    "unusable_ledger",
    "unusable_sandbox_file",
]


def ensure_folder(folder: Path, what: str, setting: str) -> None:
    """Create ``folder`` if needed; refuse one that is a file or cannot be written.

    ``what`` says what lives there ("the ledger"); ``setting`` how to choose another place.
    """
    if folder.exists() and not folder.is_dir():
        raise CommandError(
            f"{folder} is a file, not a folder; ghl-sms keeps {what} there.",
            EXIT_USAGE,
            hint=f"Move the file away, or {setting}.",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(
            f"Cannot create the folder {folder} for {what}: {exc.strerror or exc}.",
            EXIT_USAGE,
            hint=f"Create it yourself, or {setting}.",
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(
            f"The folder {folder} cannot be written; ghl-sms keeps {what} there.",
            EXIT_USAGE,
            hint=f"Give yourself write access to it, or {setting}.",
        )


def unusable_ledger(path: Path) -> CommandError:
    return CommandError(
        f"The ledger {path} is not a ghl-sms ledger or is damaged; it was left untouched.",
        EXIT_USAGE,
        hint=f"Move it aside (mv {path} {path}.bad) to start a new ledger, or point --ledger "
        "(GHL_SMS_LEDGER) at another file. Keep the old file if it may record sends.",
        name="ledger_unusable",
    )


def check_database_url(url: str) -> None:
    """Refuse, before connecting, a database URL that cannot be what was meant (never
    quoting it: it may hold a password)."""
    from ghl_sms.ops.storage.sql import has_stray_at, is_postgres_url

    example = "postgresql://sms@db.internal:5432/sms, for example"
    if not is_postgres_url(url):
        raise CommandError(
            f"GHL_SMS_DATABASE_URL (--database-url) must be a postgresql:// URL: {example}.",
            EXIT_USAGE,
            hint="Unset it to keep the ledger in its local file (--ledger / GHL_SMS_LEDGER).",
        )
    rest = url.split("://", 1)[1]
    if not rest.strip("/"):
        raise CommandError(
            f"GHL_SMS_DATABASE_URL (--database-url) names no server and no database: {example}.",
            EXIT_USAGE,
        )
    if has_stray_at(url):
        raise CommandError(
            "GHL_SMS_DATABASE_URL (--database-url) has more than one @: write an @ in the "
            "user name or password as %40 (and a / as %2F, a : as %3A).",
            EXIT_USAGE,
        )


def open_database(url: str, clock: Clock) -> Ledger:
    """The ledger on PostgreSQL at ``url``: refused with what to do when the extra is
    missing, the server can't be reached or its schema is not this version's."""
    check_database_url(url)
    try:
        return Ledger.open(url, clock)
    except LedgerUnusable as exc:  # says what to do (install the extra, db upgrade, ...)
        raise CommandError(str(exc), EXIT_USAGE, name="ledger_unusable") from None


def open_ledger(
    path: Path, clock: Clock, *, setting: str, database_url: str | None = None
) -> Ledger:
    """The ledger at ``path``, or on PostgreSQL at ``database_url`` when one is given; a
    damaged or foreign file is refused, never overwritten."""
    if database_url:
        return open_database(database_url, clock)
    ensure_folder(path.parent, "the ledger", setting)
    if path.is_dir():
        raise CommandError(
            f"The ledger {path} is a folder, not a file.",
            EXIT_USAGE,
            hint="Point --ledger (GHL_SMS_LEDGER) at a file, e.g. ledger.db inside it.",
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise CommandError(
            f"The ledger {path} cannot be read and written by you.",
            EXIT_USAGE,
            hint="Give yourself access to it, or point --ledger (GHL_SMS_LEDGER) elsewhere.",
        )
    try:
        return Ledger.open(path, clock)
    except LedgerUnusable as exc:  # its message names the file and what to do
        raise CommandError(str(exc), EXIT_USAGE, name="ledger_unusable") from None
    except sqlite3.DatabaseError:
        raise unusable_ledger(path) from None


def unusable_sandbox_file(path: Path) -> CommandError:
    return CommandError(
        f"The sandbox file {path} is not a ghl-sms sandbox or is damaged; it was left untouched.",
        EXIT_USAGE,
        hint=f"It only holds sandbox state: delete it or move it aside (mv {path} {path}.bad) "
        "and run again for a fresh sandbox.",
    )
