"""``/conversations/`` CRUD and ``/conversations/search``."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.routing import Route

from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import ApiError, bad_request, unprocessable
from ghl_sms.sandbox._routes._gate import (
    CONVERSATIONS_VERSION,
    JsonDict,
    engine_of,
    ghl_route,
    json_body,
    query_int,
)
from ghl_sms.sandbox._shapes import (
    conversation_by_id,
    conversation_created,
    conversation_dto,
    conversation_search_item,
)
from ghl_sms.sandbox.store import ConversationRow

__all__ = ["routes"]

READ = "conversations.readonly"
WRITE = "conversations.write"

_SEARCH_ENUMS: dict[str, tuple[str, ...]] = {
    "sort": ("asc", "desc"),
    "sortBy": (
        "last_manual_message_date",
        "last_message_date",
        "score_profile",
        "overdue_at",
        "due_at",
    ),
    "status": ("all", "read", "unread", "starred", "recents"),
    "lastMessageDirection": ("inbound", "outbound"),
    "lastMessageAction": ("automated", "manual"),
}


def _sort_value(row: ConversationRow) -> int:
    return round((row.last_message_date or row.date_added) * 1000)


@ghl_route(READ, CONVERSATIONS_VERSION)
async def search_conversations(request: Request, ctx: AuthContext) -> JsonDict:
    query = request.query_params
    errors = [
        f"{name} must be one of the following values: {', '.join(allowed)}"
        for name, allowed in _SEARCH_ENUMS.items()
        if query.get(name) is not None and query[name] not in allowed
    ]
    location_id = query.get("locationId")
    if not location_id:
        errors.insert(0, "locationId must be a string")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(location_id)
    limit = query_int(request, "limit", 20, low=1, high=100)
    store = engine_of(request).store
    rows = store.list_conversations(ctx.location_id)
    contacts = {row.contact_id: store.get_contact(row.contact_id) for row in rows}

    def keep(row: ConversationRow) -> bool:
        if query.get("contactId") and row.contact_id != query["contactId"]:
            return False
        if query.get("id") and row.id != query["id"]:
            return False
        status = query.get("status", "all")
        if status == "unread" and row.unread_count == 0:
            return False
        if status == "read" and row.unread_count > 0:
            return False
        if status == "starred" and not row.starred:
            return False
        direction = query.get("lastMessageDirection")
        if direction and row.last_message_direction != direction:
            return False
        wanted_type = query.get("lastMessageType")
        if wanted_type and (row.last_message_type or "TYPE_SMS") != wanted_type:
            return False
        text = (query.get("query") or "").strip().lower()
        if text:
            contact = contacts.get(row.contact_id) or {}
            haystack = (
                " ".join(
                    str(contact.get(k) or "") for k in ("name", "email", "phone", "companyName")
                ).lower()
                + " "
                + (row.last_message_body or "").lower()
            )
            if text not in haystack:
                return False
        return True

    matched = [row for row in rows if keep(row)]
    descending = query.get("sort", "desc") == "desc"
    matched.sort(key=lambda row: (_sort_value(row), row.seq), reverse=descending)
    start_after = query.getlist("startAfterDate")
    if start_after:
        try:
            pivot = int(float(start_after[0]))
        except (ValueError, OverflowError):
            raise unprocessable(["startAfterDate must be a number"]) from None
        matched = [
            row
            for row in matched
            if (_sort_value(row) < pivot if descending else _sort_value(row) > pivot)
        ]
    total = len(matched)
    page = matched[:limit]
    return {
        "conversations": [conversation_search_item(r, contacts.get(r.contact_id)) for r in page],
        "total": total,
    }


def _conversation_or_400(request: Request, ctx: AuthContext) -> ConversationRow:
    row = engine_of(request).store.get_conversation(request.path_params["conversationId"])
    if row is None:
        raise bad_request("Conversation not found")
    ctx.require_location(row.location_id)
    return row


@ghl_route(READ, CONVERSATIONS_VERSION)
async def get_conversation(request: Request, ctx: AuthContext) -> JsonDict:
    return conversation_by_id(_conversation_or_400(request, ctx))


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def update_conversation(request: Request, ctx: AuthContext) -> JsonDict:
    body = await json_body(request)
    errors = [
        f"property {key} should not exist"
        for key in body
        if key not in ("locationId", "unreadCount", "starred", "feedback")
    ]
    if not isinstance(body.get("locationId"), str):
        errors.append("locationId must be a string")
    unread = body.get("unreadCount")
    if unread is not None and (
        isinstance(unread, bool) or not isinstance(unread, int | float) or not math.isfinite(unread)
    ):
        errors.append("unreadCount must be a number conforming to the specified constraints")
    starred = body.get("starred")
    if starred is not None and not isinstance(starred, bool):
        errors.append("starred must be a boolean value")
    if body.get("feedback") is not None and not isinstance(body["feedback"], dict):
        errors.append("feedback must be an object")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(body["locationId"])
    row = _conversation_or_400(request, ctx)
    engine = engine_of(request)
    new_unread = None if unread is None else min(max(int(unread), 0), 2**31 - 1)
    with engine.transaction():
        engine.store.update_conversation(
            row.id, unread_count=new_unread, starred=starred, date_updated=engine.clock.now()
        )
        updated = engine.store.get_conversation(row.id)
        assert updated is not None
        if updated.unread_count != row.unread_count or updated.starred != row.starred:
            engine.emit_unread(updated)
    return {"success": True, "conversation": conversation_dto(updated)}


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def delete_conversation(request: Request, ctx: AuthContext) -> JsonDict:
    row = _conversation_or_400(request, ctx)
    engine = engine_of(request)
    with engine.transaction():
        engine.store.delete_conversation(row.id)
    return {"success": True}


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def create_conversation(request: Request, ctx: AuthContext) -> tuple[int, JsonDict]:
    body = await json_body(request)
    errors = [
        f"property {key} should not exist" for key in body if key not in ("locationId", "contactId")
    ]
    for key in ("locationId", "contactId"):
        if not isinstance(body.get(key), str):
            errors.append(f"{key} must be a string")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(body["locationId"])
    engine = engine_of(request)
    contact = engine.store.get_contact(body["contactId"])
    if contact is None or contact["locationId"] != ctx.location_id:
        raise bad_request(f"Contact with id {body['contactId']} not found")
    with engine.transaction():
        row, created = engine.conversation_for(ctx.location_id, contact["id"])
    if not created:
        raise ApiError(
            400,
            {
                "statusCode": 400,
                "message": "Conversation already exists",
                "error": "Bad Request",
                "conversationId": row.id,
            },
        )
    return 201, {"success": True, "conversation": conversation_created(row)}


routes = [
    Route("/conversations/search", search_conversations, methods=["GET"]),
    Route("/conversations/", create_conversation, methods=["POST"]),
    Route("/conversations", create_conversation, methods=["POST"]),
    Route("/conversations/{conversationId}", get_conversation, methods=["GET"]),
    Route("/conversations/{conversationId}", update_conversation, methods=["PUT"]),
    Route("/conversations/{conversationId}", delete_conversation, methods=["DELETE"]),
]
