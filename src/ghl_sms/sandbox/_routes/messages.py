"""``/conversations/messages*`` and ``/conversations/{id}/messages``."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import (
    ApiError,
    bad_request,
    forbidden,
    internal_error,
    not_found,
    unprocessable,
)
from ghl_sms.sandbox._routes._gate import (
    CONVERSATIONS_VERSION,
    JsonDict,
    engine_of,
    ghl_route,
    json_body,
    query_int,
)
from ghl_sms.sandbox._shapes import message_json

__all__ = ["MAX_ATTACHMENTS", "MAX_MESSAGE_LENGTH", "routes", "validate_send"]

READ = "conversations/message.readonly"
WRITE = "conversations/message.write"

MAX_MESSAGE_LENGTH = 1600
MAX_ATTACHMENTS = 10
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "mp4", "mpeg", "zip", "rar", "pdf", "doc", "docx", "txt", "mp3", "wav"}
)

SEND_TYPES = ("SMS", "RCS", "Email", "WhatsApp", "IG", "FB", "Custom", "Live_Chat", "TIKTOK")
_STRING_FIELDS = (
    "contactId",
    "appointmentId",
    "emailFrom",
    "html",
    "message",
    "subject",
    "replyMessageId",
    "templateId",
    "threadId",
    "conversationProviderId",
    "emailTo",
    "customSubtypeId",
    "fromNumber",
    "toNumber",
)
_ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("delivered", "failed", "pending", "read"),
    "emailReplyMode": ("reply", "reply_all"),
    "optimizationPeriod": ("24h", "48h", "72h"),
}
SEND_FIELDS = frozenset(
    {
        "type",
        "subType",
        "attachments",
        "emailCc",
        "emailBcc",
        "scheduledTimestamp",
        "forward",
        "usesNativeSchedulingAi",
        *_STRING_FIELDS,
        *_ENUM_FIELDS,
    }
)
MESSAGE_TYPES = (
    "TYPE_CALL",
    "TYPE_SMS",
    "TYPE_RCS",
    "TYPE_EMAIL",
    "TYPE_FACEBOOK",
    "TYPE_GMB",
    "TYPE_INSTAGRAM",
    "TYPE_WHATSAPP",
    "TYPE_ACTIVITY_APPOINTMENT",
    "TYPE_ACTIVITY_CONTACT",
    "TYPE_ACTIVITY_INVOICE",
    "TYPE_ACTIVITY_PAYMENT",
    "TYPE_ACTIVITY_OPPORTUNITY",
    "TYPE_LIVE_CHAT",
    "TYPE_INTERNAL_COMMENTS",
    "TYPE_ACTIVITY_EMPLOYEE_ACTION_LOG",
    "TYPE_TIKTOK",
    "TYPE_ACTIVITY_WHATSAPP",
    "TYPE_FORM_SUBMISSION",
)


def _js_length(text: str) -> int:
    """String length as JavaScript (and so class-validator) counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_send(body: JsonDict) -> list[str]:
    """class-validator's messages for a ``SendMessageBodyDto``; empty when valid."""
    errors = [f"property {key} should not exist" for key in body if key not in SEND_FIELDS]
    if body.get("type") not in SEND_TYPES:
        errors.append("type must be a valid enum value")
    contact_id = body.get("contactId")
    if not isinstance(contact_id, str):
        errors.append("contactId must be a string")
    elif not contact_id:
        errors.append("contactId should not be empty")
    for key in _STRING_FIELDS:
        value = body.get(key)
        if key != "contactId" and value is not None and not isinstance(value, str):
            errors.append(f"{key} must be a string")
    message = body.get("message")
    if isinstance(message, str) and _js_length(message) > MAX_MESSAGE_LENGTH:
        errors.append(f"message must be shorter than or equal to {MAX_MESSAGE_LENGTH} characters")
    for key, allowed in _ENUM_FIELDS.items():
        value = body.get(key)
        if value is not None and value not in allowed:
            errors.append(f"{key} must be one of the following values: {', '.join(allowed)}")
    attachments = body.get("attachments")
    if attachments is not None:
        if not isinstance(attachments, list):
            errors.append("attachments must be an array")
        else:
            if len(attachments) > MAX_ATTACHMENTS:
                errors.append(f"attachments must contain no more than {MAX_ATTACHMENTS} elements")
            if not all(_is_http_url(item) for item in attachments):
                errors.append("each value in attachments must be a URL address")
    for key in ("emailCc", "emailBcc"):
        value = body.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            errors.append(f"each value in {key} must be a string")
    scheduled = body.get("scheduledTimestamp")
    if scheduled is not None and not _is_number(scheduled):
        errors.append("scheduledTimestamp must be a number conforming to the specified constraints")
    flag = body.get("usesNativeSchedulingAi")
    if flag is not None and not isinstance(flag, bool):
        errors.append("usesNativeSchedulingAi must be a boolean value")
    forward = body.get("forward")
    if forward is not None and not isinstance(forward, dict):
        errors.append("forward must be an object")
    return errors


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def send_message(request: Request, ctx: AuthContext) -> JsonDict:
    body = await json_body(request)
    errors = validate_send(body)
    if errors:
        raise unprocessable(errors)
    if body["type"] != "SMS":
        raise bad_request(f"The sandbox emulates SMS only; type {body['type']!r} is not supported")
    message: Any = body.get("message") or ""
    attachments: list[str] = list(body.get("attachments") or [])
    if not message and not attachments:
        raise unprocessable(["message should not be empty"])
    engine = engine_of(request)
    contact = engine.store.get_contact(body["contactId"])
    if contact is None:
        raise bad_request(f"Contact with id {body['contactId']} not found")
    scheduled = body.get("scheduledTimestamp")
    row = engine.send_sms(
        ctx,
        contact,
        body=message,
        attachments=attachments,
        from_number=body.get("fromNumber"),
        to_number=body.get("toNumber"),
        scheduled_at=None if scheduled is None else float(scheduled),
    )
    return {
        "conversationId": row.conversation_id,
        "messageId": row.id,
        "msg": "Message queued successfully.",
        "status": "pending",
    }


INBOUND_TYPES = (
    "SMS", "RCS", "Email", "WhatsApp", "GMB", "IG", "FB", "Custom", "WebChat", "Live_Chat",
    "Call", "IVR_Call", "Campaign_Call", "Campaign_VoiceMail", "TIKTOK", "ALL_IN_ONE_CHAT",
    "FORM_SUBMISSION",
)  # fmt: skip
INBOUND_FIELDS = frozenset(
    {
        "type", "attachments", "message", "conversationId", "contactId",
        "conversationProviderId", "html", "subject", "emailFrom", "emailTo", "emailCc",
        "emailBcc", "emailMessageId", "altId", "direction", "date", "call",
    }
)  # fmt: skip


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def add_inbound_message(request: Request, ctx: AuthContext) -> JsonDict | Response:
    """A conversation-provider app reports a message it received (ProcessMessageBodyDto).

    The sandbox has no provider apps of its own, so it behaves as GHL does for an app
    that replaces the default SMS channel: ``type: "SMS"`` without a provider id is
    stored; a ``Custom`` message without one is answered 201 with an empty body and
    dropped (ISSUE #70); an unknown provider id is a 500 (ISSUE #6).
    """
    body = await json_body(request)
    errors = [f"property {key} should not exist" for key in body if key not in INBOUND_FIELDS]
    if body.get("type") not in INBOUND_TYPES:
        errors.append("type must be a valid enum value")
    for key in ("conversationId", "contactId"):
        if not isinstance(body.get(key), str) or not body.get(key):
            errors.append(f"{key} must be a string")
    for key in ("message", "conversationProviderId", "altId"):
        if body.get(key) is not None and not isinstance(body.get(key), str):
            errors.append(f"{key} must be a string")
    attachments = body.get("attachments")
    if attachments is not None and not (
        isinstance(attachments, list) and all(_is_http_url(a) for a in attachments)
    ):
        errors.append("each value in attachments must be a URL address")
    if errors:
        raise unprocessable(errors)
    provider = body.get("conversationProviderId")
    if body["type"] == "Custom" and not provider:
        return Response(status_code=201)  # accepted and silently not stored, as GHL does
    if provider:
        raise ApiError(500, internal_error())  # no provider with that id
    if body["type"] != "SMS":
        raise bad_request("Incorrect conversationProviderId/type")
    engine = engine_of(request)
    contact = engine.store.get_contact(body["contactId"])
    if contact is None:
        raise bad_request(f"Contact with id {body['contactId']} not found")
    ctx.require_location(contact["locationId"])
    conversation = engine.store.get_conversation(body["conversationId"])
    if conversation is None or conversation.contact_id != contact["id"]:
        raise bad_request("Conversation not found")
    try:
        row, _ = engine.reply(contact["id"], body.get("message") or "", list(attachments or []))
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return {
        "success": True,
        "conversationId": row.conversation_id,
        "messageId": row.id,
        "message": "Message received",
        "contactId": row.contact_id,
        "dateAdded": message_json(row)["dateAdded"],
    }


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def update_message_status(request: Request, ctx: AuthContext) -> JsonDict:
    """Only the conversation-provider app that owns a message may report its status.

    Every sandbox message goes out through the built-in phone system, which reports its
    own statuses, so the answer is GHL's for a message no provider owns (ISSUE #4).
    """
    body = await json_body(request)
    errors = [
        f"property {key} should not exist"
        for key in body
        if key not in ("status", "error", "emailMessageId", "recipients")
    ]
    if body.get("status") not in _ENUM_FIELDS["status"]:
        errors.append(
            "status must be one of the following values: delivered, failed, pending, read"
        )
    error = body.get("error")
    if error is not None and not (
        isinstance(error, dict)
        and all(isinstance(error.get(k), str) for k in ("code", "type", "message"))
    ):
        errors.append("error must contain code, type and message strings")
    if errors:
        raise unprocessable(errors)
    row = engine_of(request).store.get_message(request.path_params["messageId"])
    if row is None:
        raise not_found("Message not found")
    ctx.require_location(row.location_id)
    raise forbidden("No conversation provider found for this message")


@ghl_route(READ, CONVERSATIONS_VERSION)
async def get_message(request: Request, ctx: AuthContext) -> JsonDict:
    row = engine_of(request).store.get_message(request.path_params["messageId"])
    if row is None:
        raise not_found("Message not found")
    ctx.require_location(row.location_id)
    return {"message": message_json(row)}


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def cancel_scheduled(request: Request, ctx: AuthContext) -> JsonDict:
    return engine_of(request).cancel_scheduled(ctx, request.path_params["messageId"])


@ghl_route(READ, CONVERSATIONS_VERSION)
async def list_messages(request: Request, ctx: AuthContext) -> JsonDict:
    store = engine_of(request).store
    conversation = store.get_conversation(request.path_params["conversationId"])
    if conversation is None:
        raise bad_request("Conversation not found")
    ctx.require_location(conversation.location_id)
    limit = query_int(request, "limit", 20, low=1, high=100)
    wanted = request.query_params.get("type")
    if wanted:
        types = [t.strip() for t in wanted.split(",") if t.strip()]
        bad = [t for t in types if t not in MESSAGE_TYPES]
        if bad:
            raise unprocessable(
                [f"type must be one of the following values: {', '.join(MESSAGE_TYPES)}"]
            )
        if "TYPE_SMS" not in types:
            return {"messages": {"lastMessageId": "", "nextPage": False, "messages": []}}
    before_seq: int | None = None
    cursor = request.query_params.get("lastMessageId")
    if cursor:
        anchor = store.get_message(cursor)
        if anchor is None or anchor.conversation_id != conversation.id:
            return {"messages": {"lastMessageId": "", "nextPage": False, "messages": []}}
        before_seq = anchor.seq
    rows = store.list_messages(conversation.id, before_seq=before_seq, limit=limit + 1)
    page = rows[:limit]
    return {
        "messages": {
            "lastMessageId": page[-1].id if page else "",
            "nextPage": len(rows) > limit,
            "messages": [message_json(row) for row in page],
        }
    }


@ghl_route(WRITE, CONVERSATIONS_VERSION)
async def upload_attachments(request: Request, ctx: AuthContext) -> JsonDict | tuple[int, JsonDict]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return 415, {
            "status": 415,
            "message": "Failed to upload the files: send "
            "multipart/form-data with the files under fileAttachment",
        }
    engine = engine_of(request)
    uploaded: dict[str, str] = {}
    async with request.form(max_files=MAX_ATTACHMENTS, max_fields=100) as form:
        location_id = form.get("locationId")
        ctx.require_location(location_id if isinstance(location_id, str) else None)
        files = [f for f in form.getlist("fileAttachment") if isinstance(f, UploadFile)]
        if not files:
            return 400, {"status": 400, "message": "Failed to upload the files: no fileAttachment"}
        contents = []
        total = 0
        for file in files:
            name = file.filename or "file"
            if name.rsplit(".", 1)[-1].lower() not in UPLOAD_EXTENSIONS:
                return 415, {
                    "status": 415,
                    "message": f"Failed to upload the files: {name} is not an allowed file type",
                }
            data = await file.read()
            total += len(data)
            contents.append((name, file.content_type or "application/octet-stream", data))
        if total > MAX_UPLOAD_BYTES:
            return 413, {"status": 413, "message": "Failed to upload the files"}
    base = str(request.base_url).rstrip("/")
    with engine.transaction():
        for name, content_type, data in contents:
            media_id = engine.new_id("media")
            engine.store.insert_media(media_id, ctx.location_id, name, content_type, data)
            uploaded[name] = f"{base}/_sandbox/media/{media_id}/{name}"
    return {"uploadedFiles": uploaded}


routes = [
    Route("/conversations/messages", send_message, methods=["POST"]),
    Route("/conversations/messages/upload", upload_attachments, methods=["POST"]),
    Route("/conversations/messages/inbound", add_inbound_message, methods=["POST"]),
    Route("/conversations/messages/{messageId}/status", update_message_status, methods=["PUT"]),
    Route("/conversations/messages/{messageId}", get_message, methods=["GET"]),
    Route("/conversations/messages/{messageId}/schedule", cancel_scheduled, methods=["DELETE"]),
    Route("/conversations/{conversationId}/messages", list_messages, methods=["GET"]),
]
