"""The rows the sandbox stores for numbers, conversations and messages, and how a
database row (a tuple in column order) becomes one."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, TypeVar

__all__ = [
    "CONVERSATION_COLUMNS",
    "MESSAGE_COLUMNS",
    "ConversationRow",
    "JsonDict",
    "MessageRow",
    "NumberRow",
    "conversation_row",
    "message_row",
    "with_seq",
]

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NumberRow:
    location_id: str
    phone: str
    data: JsonDict
    sms: bool
    mms: bool
    a2p_registered: bool
    is_default: bool


@dataclass(frozen=True, slots=True)
class ConversationRow:
    seq: int
    id: str
    location_id: str
    contact_id: str
    unread_count: int
    inbox: bool
    starred: bool
    deleted: bool
    last_message_body: str | None
    last_message_type: str | None
    last_message_direction: str | None
    last_message_date: float | None
    date_added: float
    date_updated: float


@dataclass(frozen=True, slots=True)
class MessageRow:
    seq: int
    id: str
    location_id: str
    conversation_id: str
    contact_id: str
    direction: str
    body: str
    attachments: list[str]
    status: str
    error_code: str | None
    planned_status: str | None
    planned_code: str | None
    from_number: str | None
    to_number: str | None
    source: str | None
    date_added: float
    scheduled_at: float | None
    next_at: float | None


CONVERSATION_COLUMNS = (
    "seq, id, location_id, contact_id, unread_count, inbox, starred, deleted, "
    "last_message_body, last_message_type, last_message_direction, last_message_date, "
    "date_added, date_updated"
)
MESSAGE_COLUMNS = (
    "seq, id, location_id, conversation_id, contact_id, direction, body, attachments, status, "
    "error_code, planned_status, planned_code, from_number, to_number, source, date_added, "
    "scheduled_at, next_at"
)


def conversation_row(row: tuple[Any, ...]) -> ConversationRow:
    # inbox, starred and deleted are stored as 0/1
    return ConversationRow(*row[:5], *(bool(flag) for flag in row[5:8]), *row[8:])


def message_row(row: tuple[Any, ...]) -> MessageRow:
    return MessageRow(*row[:7], *[json.loads(row[7])], *row[8:])  # attachments are JSON


_Row = TypeVar("_Row", ConversationRow, MessageRow)


def with_seq(row: _Row, seq: int) -> _Row:
    """``row`` as inserted: with the sequence number the database gave it."""
    return replace(row, seq=seq)
