"""Conversations: the inbox and threads as ``ghl-sms inbox``/``thread`` show them, and a
compose box whose preview is the send's own dry run (the same preflight, parts and cost)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms.console._http import BadInput, core_of, guarded, json_body, jsonable, ok
from ghl_sms.ops.service import SendRequest
from ghl_sms.rules.carrier_errors import lookup

__all__ = ["routes"]


def _limit(request: Request, default: int = 30) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise BadInput("limit is a number from 1 to 100.")
    return int(raw)


@guarded
async def inbox(request: Request) -> Response:
    query = request.query_params
    page = await core_of(request).service.inbox(
        unread_only=query.get("unread") == "1",
        limit=_limit(request),
        cursor=query.get("cursor") or None,
    )
    return ok(page)


@guarded
async def thread(request: Request) -> Response:
    query = request.query_params
    given = {k: query.get(k) or None for k in ("conversation_id", "contact_id", "to")}
    page = await core_of(request).service.thread(
        conversation_id=given["conversation_id"],
        contact_id=given["contact_id"],
        to=given["to"],
        limit=_limit(request),
        cursor=query.get("cursor") or None,
    )
    shown = jsonable(page)
    for message in shown["messages"]:  # a failure explained, as `ghl-sms status` does
        entry = lookup(message.get("error_code"))
        message["explanation"] = entry.title if entry else None
        message["advice"] = entry.advice if entry else None
    return ok(shown)


def _request(body: dict[str, Any], *, dry_run: bool) -> SendRequest:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("Type the text first.")
    media = body.get("media") or []
    if isinstance(media, str):
        media = [line.strip() for line in media.splitlines() if line.strip()]
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise BadInput("Media are public http(s) URLs, one a line.")
    recipient = {k: str(body[k]).strip() or None for k in ("to", "contact_id", "conversation_id")
                 if body.get(k)}  # fmt: skip
    if len(recipient) != 1:
        raise BadInput("Pick one recipient: a conversation, a contact or a phone number.")
    key = body.get("idempotency_key")
    return SendRequest(
        text=text,
        to=recipient.get("to"),
        contact_id=recipient.get("contact_id"),
        conversation_id=recipient.get("conversation_id"),
        attachments=tuple(media),
        transactional=bool(body.get("transactional")),
        ignore_quiet_hours=bool(body.get("ignore_quiet_hours")),
        idempotency_key=str(key) if key and not dry_run else None,
        dry_run=dry_run,
    )


@guarded
async def preview(request: Request) -> Response:
    """The send's dry run: blocked answers 422 with the reasons, as the send would."""
    outcome = await core_of(request).service.send(_request(await json_body(request), dry_run=True))
    return ok(outcome)


@guarded
async def send(request: Request) -> Response:
    outcome = await core_of(request).service.send(_request(await json_body(request), dry_run=False))
    return ok(outcome, status=201 if outcome.outcome in ("sent", "scheduled") else 200)


routes = [
    Route("/api/inbox", inbox, methods=["GET"]),
    Route("/api/thread", thread, methods=["GET"]),
    Route("/api/preview", preview, methods=["POST"]),
    Route("/api/send", send, methods=["POST"]),
]
