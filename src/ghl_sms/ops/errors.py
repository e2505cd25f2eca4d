"""Errors of the operations layer: each says what went wrong and what to do next.

GHL's own errors (``ghl_sms.ghl.GhlError``) pass through unchanged; these are the
decisions ghl-sms makes itself (a blocked send, an unknown recipient, a repeat).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

# From the records, not the ledger: naming them must not load the storage (fast start).
from ghl_sms.ops._ledger_records import RepeatSendError, SendInProgressError

if TYPE_CHECKING:
    from ghl_sms.rules.preflight import Verdict

__all__ = [
    "IdempotencyConflict",
    "LedgerUnusable",
    "OpsError",
    "PhoneGivenAsContact",
    "PreflightBlocked",
    "RecipientNotFound",
    "RepeatSendError",
    "SendInProgressError",
    "SenderNotAvailable",
    "UsageError",
]


class OpsError(Exception):
    """A send or lookup ghl-sms refused or could not do; the message says what to do."""


class UsageError(OpsError):
    """The request itself is wrong (missing recipient, bad time)."""


class IdempotencyConflict(UsageError):
    """An idempotency key already used for a different send (another text, recipient,
    attachments, schedule or sender). Like Stripe, the key is refused rather than
    answered with the first send's result: the caller's intent is ambiguous."""

    def __init__(
        self, message: str, *, key: str | None = None, differences: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.differences = differences or []

    @classmethod
    def of(
        cls, key: str, differences: list[str], first_message_id: str | None
    ) -> IdempotencyConflict:
        first = f" (message {first_message_id})" if first_message_id else ""
        return cls(
            f"The idempotency key {key!r} was already used for another send{first}: "
            f"{'; '.join(differences)}. Use a new key for a new message, or repeat the "
            "first request exactly to get its result.",
            key=key,
            differences=differences,
        )


class LedgerUnusable(OpsError):
    """The ledger's file exists but is not a usable ghl-sms ledger (empty, not SQLite,
    damaged, another program's database), or cannot be created. It is never overwritten
    or modified; the message names the file and what to do. A configuration error."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class RecipientNotFound(OpsError):
    """No such contact or conversation in this location."""


class PhoneGivenAsContact(UsageError, RecipientNotFound):
    """A phone number where a contact id belongs (``--contact +1415...``).

    A usage error (the CLI exits 2) that is also "no such contact", so a bulk row with a
    number in its contact column is skipped like an unknown id rather than failing the run.
    """

    def __init__(self, value: str, *, instead: str) -> None:
        super().__init__(
            f"{value.strip()!r} looks like a phone number, not a contact id; {instead}"
        )
        self.value = value


class SenderNotAvailable(OpsError):
    """The requested sending number is not one of the location's SMS numbers."""


class PreflightBlocked(OpsError):
    """The rules say no: nothing was sent."""

    def __init__(self, verdict: Verdict) -> None:
        reasons = [r for r in verdict.reasons if r.level == "blocked"]
        # A deferring caller's quiet hours are a warning: "not now" rather than "never".
        said = reasons or [r for r in verdict.reasons if r.code == "quiet_hours"]
        text = " ".join(r.message for r in said) or "Blocked by preflight."
        super().__init__(f"Not sent: {text}")
        self.verdict = verdict
        self.reasons = reasons
