"""GHL response shapes: rows in, the JSON the real API answers out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ghl_sms.rules.carrier_errors import lookup
from ghl_sms.sandbox.store import ConversationRow, MessageRow, NumberRow

__all__ = [
    "conversation_by_id",
    "conversation_created",
    "conversation_dto",
    "conversation_search_item",
    "iso",
    "message_json",
]

JsonDict = dict[str, Any]

# REST message type names and their numeric ids (ghl-api.md §3.12).
TYPE_SMS = "TYPE_SMS"
TYPE_SMS_ID = 2
CONVERSATION_TYPE_PHONE = 1


def iso(epoch: float) -> str:
    """``2024-03-27T18:13:49.000Z``, as GHL writes dates."""
    d = datetime.fromtimestamp(epoch, tz=UTC)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}."
        f"{d.microsecond // 1000:03d}Z"
    )


def error_json(code: str | None) -> JsonDict | None:
    if code is None:
        return None
    entry = lookup(code)
    return {
        "code": code,
        "type": "carrier",
        "message": entry.title if entry is not None else f"Carrier error {code}",
    }


def message_json(message: MessageRow) -> JsonDict:
    """One message as ``GET /conversations/messages/{id}`` has it (inside ``message``)."""
    data: JsonDict = {
        "id": message.id,
        "type": TYPE_SMS_ID,
        "messageType": TYPE_SMS,
        "locationId": message.location_id,
        "contactId": message.contact_id,
        "conversationId": message.conversation_id,
        "dateAdded": iso(message.date_added),
        "body": message.body,
        "direction": message.direction,
        "status": message.status,
        "contentType": "text/plain",
        "attachments": message.attachments,
        "meta": {},
    }
    if message.direction == "outbound":
        data["source"] = message.source or "api"
    if message.from_number is not None:
        data["from"] = message.from_number
    if message.to_number is not None:
        data["to"] = message.to_number
    if message.status in ("failed", "undelivered"):
        error = error_json(message.error_code)
        if error is not None:
            data["error"] = error
    return data


def conversation_by_id(conversation: ConversationRow) -> JsonDict:
    """``GET /conversations/{id}``: flat, numeric ``type``."""
    return {
        "id": conversation.id,
        "contactId": conversation.contact_id,
        "locationId": conversation.location_id,
        "deleted": conversation.deleted,
        "inbox": conversation.inbox,
        "type": CONVERSATION_TYPE_PHONE,
        "unreadCount": conversation.unread_count,
        "starred": conversation.starred,
    }


def conversation_dto(conversation: ConversationRow) -> JsonDict:
    """``ConversationDto`` of ``PUT /conversations/{id}``; ``lastMessageDate`` is epoch ms."""
    data: JsonDict = {
        "id": conversation.id,
        "locationId": conversation.location_id,
        "contactId": conversation.contact_id,
        "unreadCount": conversation.unread_count,
        "inbox": conversation.inbox,
        "starred": conversation.starred,
        "deleted": conversation.deleted,
    }
    if conversation.last_message_date is not None:
        data["lastMessageBody"] = conversation.last_message_body or ""
        data["lastMessageDate"] = str(round(conversation.last_message_date * 1000))
        data["lastMessageType"] = conversation.last_message_type or TYPE_SMS
    return data


def conversation_created(conversation: ConversationRow) -> JsonDict:
    """The ``conversation`` of ``POST /conversations/``'s 201."""
    last = conversation.last_message_date or conversation.date_added
    return {
        "id": conversation.id,
        "dateUpdated": iso(conversation.date_updated),
        "dateAdded": iso(conversation.date_added),
        "deleted": conversation.deleted,
        "contactId": conversation.contact_id,
        "locationId": conversation.location_id,
        "lastMessageDate": iso(last),
    }


def conversation_search_item(conversation: ConversationRow, contact: JsonDict | None) -> JsonDict:
    """One ``ConversationSchema`` of ``GET /conversations/search``: string ``type``."""
    contact = contact or {}
    full_name = _full_name(contact)
    data: JsonDict = {
        "id": conversation.id,
        "contactId": conversation.contact_id,
        "locationId": conversation.location_id,
        "lastMessageBody": conversation.last_message_body or "",
        "lastMessageType": conversation.last_message_type or TYPE_SMS,
        "type": "TYPE_PHONE",
        "unreadCount": conversation.unread_count,
        "fullName": full_name,
        "contactName": full_name or contact.get("companyName", ""),
        "email": contact.get("email", ""),
        "phone": contact.get("phone", ""),
        "dateAdded": round(conversation.date_added * 1000),
        "dateUpdated": round(conversation.date_updated * 1000),
        "inbox": conversation.inbox,
        "starred": conversation.starred,
        "deleted": conversation.deleted,
    }
    if conversation.last_message_date is not None:
        data["lastMessageDate"] = round(conversation.last_message_date * 1000)
        data["lastMessageDirection"] = conversation.last_message_direction
        # startAfterDate takes "the sort value of the last document"
        data["sort"] = [round(conversation.last_message_date * 1000)]
    return data


def number_json(number: NumberRow) -> JsonDict:
    return dict(number.data)


def _full_name(contact: JsonDict) -> str:
    parts = [contact.get("firstName"), contact.get("lastName")]
    name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or str(contact.get("name") or "")
