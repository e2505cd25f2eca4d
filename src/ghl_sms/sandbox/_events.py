"""The webhook events the sandbox's engine emits, in GHL's shapes: OutboundMessage (on
every status change of a send), InboundMessage, ConversationUnreadUpdate and
ContactDndUpdate. Delivery to the registered targets is ``_webhooks.WebhookOutbox``'s job.
"""

from __future__ import annotations

from ghl_sms.sandbox._engine_base import EngineBase, JsonDict
from ghl_sms.sandbox._ids import make_uuid
from ghl_sms.sandbox._shapes import TYPE_SMS, error_json, iso
from ghl_sms.sandbox.store import ConversationRow, MessageRow

__all__ = ["APP_ID", "CONVERSATION_PROVIDER_ID", "VERSION_ID", "WebhookEvents"]

# Marketplace app and version the sandbox's webhooks claim to come from (24-hex ObjectIds).
APP_ID = "5a4db0c5e000000000000a01"
VERSION_ID = "5a4db0c5e000000000000b01"
CONVERSATION_PROVIDER_ID = "5a4db0c5e000000000000c01"


class WebhookEvents(EngineBase):
    def _envelope(self, event_type: str, location_id: str, now: float | None) -> JsonDict:
        return _envelope(
            event_type, location_id, self.clock.now() if now is None else now, self._next("webhook")
        )

    def _emit_outbound(self, message: MessageRow, now: float | None = None) -> None:
        # Three of these per send: built lazily, only when someone looks or listens.
        at = self.clock.now() if now is None else now
        n = self._next("webhook")
        self.outbox.emit_lazy("OutboundMessage", lambda: _outbound_payload(message, at, n), at)

    def _emit_inbound(self, message: MessageRow) -> None:
        payload = self._envelope("InboundMessage", message.location_id, None)
        payload.update(
            {
                "attachments": message.attachments,
                "body": message.body,
                "contactId": message.contact_id,
                "contentType": "text/plain",
                "conversationId": message.conversation_id,
                "dateAdded": iso(message.date_added),
                "direction": "inbound",
                "messageType": "SMS",
                "status": "delivered",
                "messageId": message.id,
                "from": message.from_number,
                "to": message.to_number,
                "conversationProviderId": CONVERSATION_PROVIDER_ID,
            }
        )
        self.outbox.emit(payload, self.clock.now())

    def emit_unread(self, conversation: ConversationRow) -> None:
        payload = self._envelope("ConversationUnreadUpdate", conversation.location_id, None)
        payload.update(
            {
                "id": conversation.id,
                "contactId": conversation.contact_id,
                "unreadCount": conversation.unread_count,
                "inbox": conversation.inbox,
                "starred": conversation.starred,
                "deleted": conversation.deleted,
            }
        )
        self.outbox.emit(payload, self.clock.now())

    def _emit_dnd(self, contact: JsonDict) -> None:
        payload = self._envelope("ContactDndUpdate", contact["locationId"], None)
        fields = {k: v for k, v in contact.items() if k not in ("locationId", "type")}
        payload.update(fields)
        payload["type"] = "ContactDndUpdate"
        payload.setdefault("attachments", [])
        self.outbox.emit(payload, self.clock.now())


def _envelope(event_type: str, location_id: str, at: float, n: int) -> JsonDict:
    return {
        "type": event_type,
        "locationId": location_id,
        "appId": APP_ID,
        "versionId": VERSION_ID,
        "timestamp": iso(at),
        "webhookId": make_uuid("webhook", n),
    }


def _outbound_payload(message: MessageRow, at: float, n: int) -> JsonDict:
    payload = _envelope("OutboundMessage", message.location_id, at, n)
    payload.update(
        {
            "attachments": message.attachments,
            "body": message.body,
            "contactId": message.contact_id,
            "contentType": "text/plain",
            "conversationId": message.conversation_id,
            "dateAdded": iso(message.date_added),
            "direction": "outbound",
            "messageType": "SMS",
            "messageTypeId": 2,
            "messageTypeString": TYPE_SMS,
            "messageId": message.id,
            "status": message.status,
            "source": message.source or "api",
            "from": message.from_number,
            "to": message.to_number,
            "conversationProviderId": CONVERSATION_PROVIDER_ID,
        }
    )
    if message.status in ("failed", "undelivered"):
        error = error_json(message.error_code)
        if error is not None:
            payload["error"] = error
    return payload
