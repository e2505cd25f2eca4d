"""What the ledger records and decides: a send's record, a claim's outcome, an opt-out,
and the errors that refuse a send (``ops.ledger`` re-exports them all)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "IN_DOUBT",
    "Claim",
    "OptOut",
    "RepeatSendError",
    "SendInProgressError",
    "SendRecord",
    "SendState",
    "derive_idempotency_key",
    "text_hash",
]

DEFAULT_LEASE_SECONDS = 120.0


class SendState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


IN_DOUBT = (SendState.PENDING, SendState.UNKNOWN)


@dataclass(frozen=True)
class SendRecord:
    id: int
    idempotency_key: str
    key_origin: str
    location_id: str
    contact_id: str | None
    to_number: str | None
    text: str
    attachments: tuple[str, ...]
    from_number: str | None
    scheduled_at: float | None
    state: SendState
    message_id: str | None
    conversation_id: str | None
    status: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    lease_until: float | None
    campaign_id: str | None
    created_at: float
    updated_at: float
    template: str | None = None
    """The text as the caller gave it, when merge fields made ``text`` differ from it."""
    contact_name: str | None = None
    """The contact's name when the send was recorded, if GHL had one."""

    @property
    def given_text(self) -> str:
        """What the caller asked to send (the template, or the text itself)."""
        return self.text if self.template is None else self.template

    @property
    def in_doubt(self) -> bool:
        return self.state in IN_DOUBT


@dataclass(frozen=True)
class Claim:
    """What ``Ledger.claim`` decided for a send.

    ``new``: go ahead and send. ``duplicate``: it already went out, here is the first
    result; send nothing. ``in_doubt``: an earlier attempt may have reached GHL; look
    for it before sending (``Ledger.adopt`` or go ahead with this record).
    """

    kind: Literal["new", "duplicate", "in_doubt"]
    record: SendRecord


@dataclass(frozen=True)
class OptOut:
    location_id: str
    phone: str | None
    contact_id: str | None
    source: str
    detail: str | None
    created_at: float


class RepeatSendError(Exception):
    """The same text went to the same recipient moments ago under another key."""

    def __init__(self, previous: SendRecord, window: float) -> None:
        minutes = max(1, round(window / 60))
        super().__init__(
            f"The same text was sent to this recipient within the last {minutes} minutes "
            f"(message {previous.message_id or 'in flight'}); not sending it again. "
            "If the repeat is intended, say so (--allow-repeat / allow_repeat=true)."
        )
        self.previous = previous


class SendInProgressError(Exception):
    """Another worker holds this send right now."""

    def __init__(self, record: SendRecord) -> None:
        super().__init__(
            "This send is already in progress elsewhere; wait for it to finish, then ask "
            "for its status instead of sending again."
        )
        self.record = record


def text_hash(text: str, attachments: Sequence[str]) -> str:
    payload = json.dumps([text, list(attachments)], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def derive_idempotency_key(
    *,
    location_id: str,
    recipient: str,
    text: str,
    attachments: Sequence[str] = (),
    scheduled_at: float | None = None,
    from_number: str | None = None,
) -> str:
    """The key for a send whose caller gave none: the same send gives the same key."""
    payload = json.dumps(
        [location_id, recipient, text, list(attachments), scheduled_at, from_number],
        ensure_ascii=False,
    )
    return "auto-" + hashlib.sha256(payload.encode()).hexdigest()[:32]
