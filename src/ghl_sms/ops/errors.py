"""Errors of the operations layer: each says what went wrong and what to do next.

GHL's own errors (``ghl_sms.ghl.GhlError``) pass through unchanged; these are the
decisions ghl-sms makes itself (a blocked send, an unknown recipient, a repeat).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ghl_sms.ops.ledger import RepeatSendError, SendInProgressError

if TYPE_CHECKING:
    from ghl_sms.rules.preflight import Verdict

__all__ = [
    "OpsError",
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


class RecipientNotFound(OpsError):
    """No such contact or conversation in this location."""


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
