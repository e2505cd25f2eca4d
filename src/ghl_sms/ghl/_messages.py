"""The message endpoints of GHL's conversations API: send, schedule and cancel, read,
page, report a status, record an inbound text, upload attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal

from ghl_sms.ghl._calls import ApiCaller, seg
from ghl_sms.ghl._errors import error_for_status
from ghl_sms.ghl._models import (
    CancelScheduledResult,
    InboundMessageResult,
    Message,
    MessagePage,
    MessageStatusUpdate,
    SendMessageResult,
    UploadResult,
)

__all__ = ["MessagesApi"]


class MessagesApi(ApiCaller):
    """``/conversations/messages...`` and a conversation's message pages."""

    async def send_message(
        self,
        *,
        contact_id: str,
        message: str | None = None,
        attachments: Sequence[str] | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        scheduled_at: datetime | None = None,
        type: Literal["SMS"] = "SMS",
    ) -> SendMessageResult:
        """Send (or schedule) an SMS; with ``attachments`` it is an MMS.

        Raises ``SendOutcomeUnknownError`` when the request may have reached GHL but no
        usable answer came back: the text may have gone out, so never resend blindly.
        """
        body: dict[str, Any] = {"type": type, "contactId": contact_id}
        if message is not None:
            body["message"] = message
        if attachments:
            body["attachments"] = list(attachments)
        if from_number:
            body["fromNumber"] = from_number
        if to_number:
            body["toNumber"] = to_number
        if scheduled_at is not None:
            body["scheduledTimestamp"] = epoch_seconds(scheduled_at)
        data = await self._call(
            "POST", "/conversations/messages", module="conversations", json=body, is_send=True
        )
        return self._parse(SendMessageResult, data, "POST", "/conversations/messages")

    async def cancel_scheduled_message(self, message_id: str) -> CancelScheduledResult:
        """Cancel a scheduled message.

        GHL answers a failed cancel with HTTP 200 and ``{"status": 404, ...}`` in the body;
        that is raised as the matching ``ApiError`` (``NotFoundError``), not returned.
        """
        path = f"/conversations/messages/{seg(message_id)}/schedule"
        data = await self._call("DELETE", path, module="conversations", idempotent=True)
        result = self._parse(CancelScheduledResult, data, "DELETE", path)
        if result.status >= 400:
            raise error_for_status(result.status)(
                result.message, status_code=result.status, method="DELETE", path=path
            )
        return result

    async def get_message(self, message_id: str) -> Message:
        path = f"/conversations/messages/{seg(message_id)}"
        data = await self._call("GET", path, module="conversations")
        # The live API wraps it: {"message": {...}}; the spec shows it flat.
        if isinstance(data, dict) and isinstance(data.get("message"), dict):
            data = data["message"]
        return self._parse(Message, data, "GET", path)

    async def list_messages(
        self,
        conversation_id: str,
        *,
        last_message_id: str | None = None,
        limit: int = 20,
        types: Sequence[str] | None = None,
    ) -> MessagePage:
        """One page of a conversation's messages, newest first.

        Pass the page's ``last_message_id`` back to get the next (older) page.
        """
        path = f"/conversations/{seg(conversation_id)}/messages"
        params: dict[str, Any] = {"limit": limit}
        if last_message_id:
            params["lastMessageId"] = last_message_id
        if types:
            params["type"] = ",".join(types)
        data = await self._call("GET", path, module="conversations", params=params)
        # The live API nests the page: {"messages": {"lastMessageId", "nextPage", "messages"}}.
        if isinstance(data, dict) and isinstance(data.get("messages"), dict):
            data = data["messages"]
        return self._parse(MessagePage, data, "GET", path)

    async def iter_messages(
        self, conversation_id: str, *, page_size: int = 50, types: Sequence[str] | None = None
    ) -> AsyncIterator[Message]:
        """Every message of a conversation, newest first, across pages."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_messages(
                conversation_id, last_message_id=cursor, limit=page_size, types=types
            )
            for message in page.messages:
                if message.id not in seen:
                    seen.add(message.id)
                    yield message
            cursor = page.last_message_id or (page.messages[-1].id if page.messages else None)
            if not page.next_page or not page.messages or cursor is None:
                return

    async def update_message_status(
        self,
        message_id: str,
        status: MessageStatusUpdate,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> SendMessageResult:
        """Report a delivery status (only a conversation-provider app may do this)."""
        path = f"/conversations/messages/{seg(message_id)}/status"
        body: dict[str, Any] = {"status": status}
        if error_code or error_message:
            body["error"] = {
                "code": error_code or "1",
                "type": "saas",
                "message": error_message or "There was an error from the provider",
            }
        data = await self._call("PUT", path, module="conversations", json=body, idempotent=True)
        return self._parse(SendMessageResult, data, "PUT", path)

    async def add_inbound_message(
        self,
        *,
        conversation_id: str,
        contact_id: str,
        message: str,
        conversation_provider_id: str | None = None,
        attachments: Sequence[str] | None = None,
        type: str = "SMS",
        alt_id: str | None = None,
        date: datetime | None = None,
    ) -> InboundMessageResult:
        """Record a message received outside GHL (for conversation-provider apps)."""
        body: dict[str, Any] = {
            "type": type,
            "conversationId": conversation_id,
            "contactId": contact_id,
            "message": message,
        }
        if conversation_provider_id:
            body["conversationProviderId"] = conversation_provider_id
        if attachments:
            body["attachments"] = list(attachments)
        if alt_id:
            body["altId"] = alt_id
        if date is not None:
            body["date"] = date.isoformat()
        path = "/conversations/messages/inbound"
        data = await self._call("POST", path, module="conversations", json=body)
        return self._parse(InboundMessageResult, data, "POST", path)

    async def upload_attachments(
        self,
        *,
        conversation_id: str,
        contact_id: str,
        files: Sequence[tuple[str, bytes, str]],
    ) -> UploadResult:
        """Upload files (name, bytes, content type); returns their URLs for ``attachments``."""
        if not files:
            raise ValueError("no files to upload")
        form = {
            "conversationId": conversation_id,
            "contactId": contact_id,
            "locationId": self.location_id,
        }
        parts = [("fileAttachment", (name, content, ctype)) for name, content, ctype in files]
        path = "/conversations/messages/upload"
        data = await self._call(
            "POST", path, module="conversations", data=form, files=parts, json_body=False
        )
        return self._parse(UploadResult, data, "POST", path)


def epoch_seconds(when: datetime) -> int:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("scheduled_at must be an aware datetime (with a time zone)")
    return int(when.timestamp())
