"""What the operations return: stable, documented fields for the CLI's --json and MCP."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ghl_sms.rules.preflight import Reason, Verdict

__all__ = [
    "CancelOutcome",
    "CheckResult",
    "Conversation",
    "InboxPage",
    "MessageStatus",
    "Note",
    "SendOutcome",
    "SenderNumber",
    "ThreadMessage",
    "ThreadPage",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Note(_Out):
    """One preflight reason: a stable code, its level and a sentence for people."""

    code: str
    level: Literal["warn", "blocked"]
    message: str

    @classmethod
    def of(cls, reason: Reason) -> Note:
        return cls(code=str(reason.code), level=reason.level, message=reason.message)

    @classmethod
    def all_of(cls, verdict: Verdict) -> list[Note]:
        return [cls.of(r) for r in verdict.reasons]


class SendOutcome(_Out):
    outcome: Literal["sent", "scheduled", "duplicate", "dry_run"]
    """sent/scheduled: GHL accepted it now. duplicate: it already went out under this
    idempotency key (the first result is shown; nothing was sent). dry_run: nothing sent."""
    message_id: str | None = None
    conversation_id: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    to: str | None = None
    from_number: str | None = None
    status: str | None = None
    """GHL's status for the message (pending, scheduled, sent, delivered, failed...)."""
    scheduled_at: datetime | None = None
    type: Literal["SMS", "MMS"] = "SMS"
    encoding: str
    segments: int
    segments_with_footer: int | None = None
    """Parts once GHL appends its opt-out footer to a first message."""
    cost_estimate_usd: float | None = None
    verdict: Literal["ok", "warn", "blocked"]
    notes: list[Note] = []
    idempotency_key: str | None = None
    adopted: bool = False
    """The outcome was unknown and the message was found in GHL afterwards."""
    text: str | None = None
    """The text as sent (or as it would be): merge fields filled from the contact."""


class CancelOutcome(_Out):
    message_id: str
    cancelled: bool
    message: str


class MessageStatus(_Out):
    message_id: str
    status: str | None
    direction: str | None = None
    contact_id: str | None = None
    conversation_id: str | None = None
    body: str | None = None
    date_added: datetime | None = None
    error_code: str | None = None
    explanation: str | None = None
    """What the failure means, in plain words."""
    advice: str | None = None
    """What to do about it."""
    final: bool
    """No further status change is expected."""
    known_from: str = "ghl"
    """Where the status comes from: ghl (asked now), webhook or poll (recorded earlier)."""


class ThreadMessage(_Out):
    id: str
    direction: str | None
    body: str | None
    status: str | None
    date_added: datetime | None
    attachments: list[str] = []
    error_code: str | None = None


class ThreadPage(_Out):
    conversation_id: str | None
    contact_id: str | None
    contact_name: str | None = None
    phone: str | None = None
    unread_count: int = 0
    messages: list[ThreadMessage]
    """Oldest first within the page (newest last)."""
    next_cursor: str | None = None
    """Pass back as cursor to get the page of older messages."""


class Conversation(_Out):
    id: str
    contact_id: str | None
    contact_name: str | None
    phone: str | None
    unread_count: int
    last_message: str | None
    last_message_direction: str | None
    last_message_at: datetime | None


class InboxPage(_Out):
    conversations: list[Conversation]
    unread_conversations: int
    """How many conversations on this page have unread messages."""
    next_cursor: str | None = None


class SenderNumber(_Out):
    phone_number: str
    name: str | None
    sms: bool
    mms: bool
    is_default: bool
    type: str | None


class CheckResult(_Out):
    verdict: Literal["ok", "warn", "blocked"]
    notes: list[Note]
    contact_id: str | None
    contact_name: str | None
    to: str | None
    sms_dnd: bool
    opted_out: bool
    from_number: str | None
    local_time_ok: bool | None
    next_allowed_at: datetime | None
    encoding: str | None = None
    segments: int | None = None
