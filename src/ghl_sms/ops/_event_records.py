"""What ``ops.events`` records and returns (re-exported there)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Admission",
    "DndChange",
    "InboundRecord",
    "InboxItem",
    "StatusEvent",
    "UnreadState",
    "status_rank",
]

# Where a status sits in a message's life, to order two reports made at the same instant.
_STATUS_RANK = {
    "scheduled": 0, "pending": 0, "queued": 0,
    "sent": 1, "connected": 1,
    "delivered": 2, "undelivered": 2, "failed": 2, "cancelled": 2, "opt_out": 2,
    "read": 3, "opened": 3, "clicked": 3,
}  # fmt: skip


def status_rank(status: str) -> int:
    return _STATUS_RANK.get(status.lower(), 1)


@dataclass(frozen=True)
class Admission:
    """The outcome of ``EventLog.admit``: a replay, or admitted (and maybe queued)."""

    duplicate: bool
    inbox_id: int | None = None


@dataclass(frozen=True)
class InboxItem:
    id: int
    webhook_id: str | None
    event_type: str
    location_id: str | None
    scheme: str
    event_at: float
    body: bytes
    received_at: float
    lease_until: float
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class InboundRecord:
    message_id: str | None
    webhook_id: str | None
    location_id: str
    contact_id: str | None
    conversation_id: str | None
    from_number: str | None
    to_number: str | None
    message_type: str | None
    body: str | None
    attachments: tuple[str, ...]
    date_added: float | None
    keyword: str | None
    received_at: float


@dataclass(frozen=True)
class StatusEvent:
    message_id: str
    location_id: str | None
    status: str
    error_code: str | None
    error_message: str | None
    at: float
    source: str
    webhook_id: str | None
    received_at: float


@dataclass(frozen=True)
class DndChange:
    location_id: str
    contact_id: str
    phone: str | None
    dnd: bool | None
    sms_status: str | None
    blocks_sms: bool
    at: float
    webhook_id: str | None
    received_at: float


@dataclass(frozen=True)
class UnreadState:
    conversation_id: str
    location_id: str
    contact_id: str | None
    unread_count: int
    inbox: bool | None
    starred: bool | None
    deleted: bool | None
    at: float
    updated_at: float
