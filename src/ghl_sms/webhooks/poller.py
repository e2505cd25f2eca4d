"""Without webhooks: find what changed by polling GHL, and apply it exactly as a webhook.

Private Integration Tokens often come without a webhook setup. The poller searches the
location's conversations by last message date, reads the messages that arrived since the
last poll, and hands each new inbound message to the same ``Dispatcher`` the receiver
uses, so an opt-out keyword is recorded the same way whichever path saw it first. It also
refreshes the delivery status of recent sends that are not final yet. Every request goes
through the client's pacer, so a watcher never trips GHL's rate limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ghl_sms._clock import Clock
from ghl_sms.ghl import GhlClient, GhlError, Message
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.rules.keywords import classify_keyword
from ghl_sms.webhooks._dispatch import Dispatcher, OptOutHook, WebhookEvent

__all__ = ["InboundSeen", "InboxPoller", "StatusSeen"]

logger = logging.getLogger(__name__)

FINAL = frozenset({"delivered", "failed", "undelivered", "read", "cancelled", "opt_out"})
# GHL's REST type for SMS; webhooks use the short form.
_SHORT_TYPES = {"TYPE_SMS": "SMS", "TYPE_CUSTOM_PROVIDER_SMS": "Custom", "TYPE_RCS": "RCS"}


@dataclass(frozen=True)
class InboundSeen:
    message_id: str
    conversation_id: str
    contact_id: str | None
    contact_name: str | None
    phone: str | None
    body: str | None
    date_added: datetime | None
    keyword: str | None


@dataclass(frozen=True)
class StatusSeen:
    message_id: str
    status: str
    error_code: str | None


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class InboxPoller:
    """Polls one location; ``poll_once()`` returns what was new since the last poll."""

    def __init__(
        self,
        client: GhlClient,
        ledger: Ledger,
        events: EventLog,
        *,
        clock: Clock,
        lookback: float = 3600.0,
        page_size: int = 20,
        status_batch: int = 20,
        on_opt_out: OptOutHook | None = None,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._events = events
        self._clock = clock
        self._lookback = lookback
        self._page_size = page_size
        self._status_batch = status_batch
        self._dispatcher = Dispatcher(ledger=ledger, events=events, on_opt_out=on_opt_out)
        self._watermark: float | None = None

    async def poll_once(self) -> tuple[list[InboundSeen], list[StatusSeen]]:
        inbound = await self._poll_inbound()
        statuses = await self._poll_statuses()
        return inbound, statuses

    async def _poll_inbound(self) -> list[InboundSeen]:
        since = (
            self._watermark if self._watermark is not None else self._clock.now() - self._lookback
        )
        newest = since
        found: list[InboundSeen] = []
        async for conversation in self._client.iter_conversations(page_size=self._page_size):
            last = _ts(conversation.last_message_date)
            if last is None or last < since:
                break  # sorted by last message date: everything further is older
            newest = max(newest, last)
            self._events.set_unread(
                conversation_id=conversation.id,
                location_id=self._client.location_id,
                unread_count=conversation.unread_count,
                at=last,
                contact_id=conversation.contact_id,
            )
            async for message in self._client.iter_messages(conversation.id, page_size=20):
                moment = _ts(message.date_added)
                if moment is not None and moment < since:
                    break
                if message.direction != "inbound" or self._events.has_inbound(message.id):
                    continue
                self._apply_inbound(message, conversation.id, conversation.phone)
                found.append(
                    InboundSeen(
                        message_id=message.id,
                        conversation_id=conversation.id,
                        contact_id=message.contact_id or conversation.contact_id,
                        contact_name=conversation.full_name or conversation.contact_name,
                        phone=conversation.phone,
                        body=message.body,
                        date_added=message.date_added,
                        keyword=_keyword(message.body),
                    )
                )
        self._watermark = newest
        return list(reversed(found))  # oldest first, as they arrived

    def _apply_inbound(self, message: Message, conversation_id: str, phone: str | None) -> None:
        moment = _ts(message.date_added) or self._clock.now()
        payload = {
            "type": "InboundMessage",
            "locationId": self._client.location_id,
            "messageId": message.id,
            "contactId": message.contact_id,
            "conversationId": conversation_id,
            "body": message.body or "",
            "attachments": list(message.attachments),
            "dateAdded": datetime.fromtimestamp(moment, UTC).isoformat(),
            "direction": "inbound",
            "messageType": _SHORT_TYPES.get(message.message_type or "", "SMS"),
            "messageTypeString": message.message_type or "TYPE_SMS",
            "from": phone,
        }
        self._dispatcher.handle(
            WebhookEvent(
                type="InboundMessage",
                payload=payload,
                timestamp=moment,
                location_id=self._client.location_id,
                scheme="none",
                source="poll",
            )
        )

    async def _poll_statuses(self) -> list[StatusSeen]:
        """Refresh recent sends whose status is not final yet."""
        changed: list[StatusSeen] = []
        recent = self._ledger.recent(self._client.location_id, limit=200)
        pending = [
            r
            for r in recent
            if r.message_id and (r.status or "pending") not in FINAL | {"scheduled"}
        ][: self._status_batch]
        for record in pending:
            assert record.message_id is not None
            try:
                message = await self._client.get_message(record.message_id)
            except GhlError as exc:
                logger.info("status of %s not refreshed: %s", record.message_id, exc)
                continue
            if not message.status or message.status == record.status:
                continue
            code = message.error.code if message.error else None
            # Applied as the OutboundMessage webhook would be: the same handler records
            # the event, updates the ledger and notes a carrier opt-out (21610).
            payload: dict[str, Any] = {
                "type": "OutboundMessage",
                "locationId": self._client.location_id,
                "messageId": message.id,
                "contactId": message.contact_id or record.contact_id,
                "conversationId": message.conversation_id,
                "status": message.status,
                "direction": "outbound",
                "to": record.to_number,
            }
            if message.error is not None:
                payload["error"] = message.error.to_wire()
            self._dispatcher.handle(
                WebhookEvent(
                    type="OutboundMessage",
                    payload=payload,
                    timestamp=self._clock.now(),
                    location_id=self._client.location_id,
                    scheme="none",
                    source="poll",
                )
            )
            changed.append(StatusSeen(message.id, message.status, code))
        return changed


def _keyword(body: str | None) -> str | None:
    kind = classify_keyword(body) if body else None
    return kind.value if kind else None
