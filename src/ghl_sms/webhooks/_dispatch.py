"""What each GHL event does to the ledger and the event log.

Handlers run after GHL has had its answer. They only write to SQLite, and every write
is idempotent, so a delivery processed twice (after a crash) does no harm. Slow work,
such as setting DND through the API, comes back as follow-ups for the processor to
run apart. Event types without a handler are acknowledged and ignored.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.rules.carrier_errors import OPT_OUT_CODES
from ghl_sms.rules.keywords import KeywordKind, classify_keyword
from ghl_sms.rules.phones import to_e164
from ghl_sms.webhooks._verify import parse_timestamp

__all__ = [
    "CARRIER_SOURCE",
    "KEYWORD_SOURCE",
    "WEBHOOK_DND_SOURCE",
    "Dispatcher",
    "FollowUp",
    "OptOutHook",
    "OptOutNotice",
    "WebhookEvent",
]

logger = logging.getLogger(__name__)

KEYWORD_SOURCE = "keyword"
CARRIER_SOURCE = "carrier"
WEBHOOK_DND_SOURCE = "webhook_dnd"

FollowUp = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery, as the handlers see it."""

    type: str
    payload: Mapping[str, Any]
    timestamp: float
    webhook_id: str | None = None
    location_id: str | None = None
    scheme: str = "ed25519"
    source: str = "webhook"
    """How it was learnt: ``webhook``, or ``poll`` when the watcher found it."""


@dataclass(frozen=True)
class OptOutNotice:
    """A contact texted an opt-out; the local opt-out is recorded already."""

    location_id: str
    contact_id: str | None
    phone: str | None
    message_id: str | None
    body: str
    webhook_id: str | None


OptOutHook = Callable[[OptOutNotice], Awaitable[None]]

# Channels whose inbound messages are read for opt-out and opt-in keywords. An email
# reply quotes our footer ("unsubscribe") and a call has no text; neither is a keyword.
_TEXT_TYPE_STRINGS = frozenset(
    {"TYPE_SMS", "TYPE_CUSTOM_SMS", "TYPE_CUSTOM_PROVIDER_SMS", "TYPE_RCS", "TYPE_GROUP_SMS"}
)
_TEXT_TYPES = frozenset({"SMS", "MMS", "RCS", "CUSTOM", "GROUP_SMS"})
_BLOCKING_DND = frozenset({"active", "permanent"})


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_text_channel(payload: Mapping[str, Any]) -> bool:
    type_string = _str(payload.get("messageTypeString"))
    if type_string is not None:
        return type_string.upper() in _TEXT_TYPE_STRINGS
    message_type = _str(payload.get("messageType"))
    # No type at all: read it as a text; missing an opt-out costs more than a false one.
    return message_type is None or message_type.upper() in _TEXT_TYPES


def _phone(value: Any) -> str | None:
    raw = _str(value)
    if raw is None:
        return None
    return to_e164(raw) or raw


def _delivery_error(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The failure code and text of an outbound message, wherever GHL put them.

    The field is unconfirmed (ghl-api.md §12.13): an ErrorDto ``{code, type, message}``
    or a bare string under ``error`` (or ``meta.error``), or ``errorCode``/``errorMessage``.
    """
    code: Any = payload.get("errorCode")
    message: Any = payload.get("errorMessage")
    raw = payload.get("error")
    meta = payload.get("meta")
    if raw is None and isinstance(meta, Mapping):
        raw = meta.get("error")
    if isinstance(raw, Mapping):
        code = code if code is not None else raw.get("code")
        message = message if message is not None else raw.get("message")
    elif isinstance(raw, str | int) and raw != "":
        text = str(raw)
        message = message if message is not None else text
        if code is None:
            code = next((w for w in (w.strip("():,.#") for w in text.split()) if w.isdigit()), None)
    return (
        None if code in (None, "") else str(code),
        None if message in (None, "") else str(message),
    )


class Dispatcher:
    """Routes an event to its handler. ``handle`` only writes to SQLite."""

    HANDLED = frozenset(
        {"InboundMessage", "OutboundMessage", "ContactDndUpdate", "ConversationUnreadUpdate"}
    )

    def __init__(
        self, *, ledger: Ledger, events: EventLog, on_opt_out: OptOutHook | None = None
    ) -> None:
        self._ledger = ledger
        self._events = events
        self._on_opt_out = on_opt_out
        self._handlers: dict[str, Callable[[WebhookEvent], list[FollowUp]]] = {
            "InboundMessage": self._inbound_message,
            "OutboundMessage": self._outbound_message,
            "ContactDndUpdate": self._contact_dnd_update,
            "ConversationUnreadUpdate": self._conversation_unread_update,
        }

    def handles(self, event_type: str) -> bool:
        return event_type in self._handlers

    def handle(self, event: WebhookEvent) -> list[FollowUp]:
        """Apply the event; return the slow work it asks for (run after, apart)."""
        handler = self._handlers.get(event.type)
        if handler is None:
            return []
        if event.location_id is None:
            logger.warning("%s %s has no locationId; ignored", event.type, event.webhook_id)
            return []
        return handler(event)

    # --- InboundMessage -------------------------------------------------------------------

    def _inbound_message(self, event: WebhookEvent) -> list[FollowUp]:
        assert event.location_id is not None
        p = event.payload
        body = p.get("body") if isinstance(p.get("body"), str) else None
        contact_id = _str(p.get("contactId"))
        message_id = _str(p.get("messageId"))
        if message_id is not None and self._events.has_inbound(message_id):
            return []  # delivered again under another webhookId; applied the first time
        is_text = _is_text_channel(p)
        from_number = _phone(p.get("from")) if is_text else _str(p.get("from"))
        kind = classify_keyword(body) if is_text and body else None
        # The opt-out is written before the message row, so a stored row means it was
        # applied; a crash in between leaves no row and the retry applies it again.
        if kind in (KeywordKind.OPT_OUT, KeywordKind.OPT_IN) and not (from_number or contact_id):
            logger.warning("%s %s: a keyword with no sender to apply it to", event.type, message_id)
        elif kind is KeywordKind.OPT_OUT:
            self._ledger.record_opt_out(
                event.location_id,
                phone=from_number,
                contact_id=contact_id,
                source=KEYWORD_SOURCE,
                detail=body,
            )
        elif kind is KeywordKind.OPT_IN:
            self._ledger.lift_opt_out(event.location_id, phone=from_number, contact_id=contact_id)
        attachments = p.get("attachments")
        new = self._events.record_inbound(
            location_id=event.location_id,
            message_id=message_id,
            webhook_id=event.webhook_id,
            contact_id=contact_id,
            conversation_id=_str(p.get("conversationId")),
            from_number=from_number,
            to_number=_phone(p.get("to")) if is_text else _str(p.get("to")),
            message_type=_str(p.get("messageType")),
            body=body,
            attachments=[a for a in attachments if isinstance(a, str)]
            if isinstance(attachments, list)
            else [],
            date_added=parse_timestamp(p.get("dateAdded")),
            keyword=kind.value if kind else None,
        )
        if kind is KeywordKind.OPT_OUT and new and self._on_opt_out is not None:
            notice = OptOutNotice(
                location_id=event.location_id,
                contact_id=contact_id,
                phone=from_number,
                message_id=message_id,
                body=body or "",
                webhook_id=event.webhook_id,
            )
            return [functools.partial(self._on_opt_out, notice)]
        return []

    # --- OutboundMessage: status changes --------------------------------------------------

    def _outbound_message(self, event: WebhookEvent) -> list[FollowUp]:
        p = event.payload
        message_id = _str(p.get("messageId"))
        status = _str(p.get("status"))
        if message_id is None or status is None:
            return []
        error_code, error_message = _delivery_error(p)
        latest = self._events.record_status(
            message_id,
            status,
            at=event.timestamp,
            source=event.source,
            error_code=error_code,
            error_message=error_message,
            location_id=event.location_id,
            webhook_id=event.webhook_id,
        )
        # A no-op for messages ghl-sms did not send (the UI, workflows, other apps).
        self._ledger.update_status(
            message_id,
            latest.status,
            error_code=latest.error_code,
            error_message=latest.error_message,
        )
        contact_id = _str(p.get("contactId"))
        phone = _phone(p.get("to"))
        if error_code in OPT_OUT_CODES and event.location_id and (contact_id or phone):
            # The carrier says they unsubscribed, though GHL may show no DND.
            self._ledger.record_opt_out(
                event.location_id,
                phone=phone,
                contact_id=contact_id,
                source=CARRIER_SOURCE,
                detail=f"error {error_code} on message {message_id}",
            )
        return []

    # --- ContactDndUpdate -----------------------------------------------------------------

    def _contact_dnd_update(self, event: WebhookEvent) -> list[FollowUp]:
        assert event.location_id is not None
        p = event.payload
        contact_id = _str(p.get("id")) or _str(p.get("contactId"))
        if contact_id is None:
            logger.warning("ContactDndUpdate %s without a contact id; ignored", event.webhook_id)
            return []
        settings = p.get("dndSettings")
        sms: Any = None
        if isinstance(settings, Mapping):
            sms = settings.get("SMS", settings.get("sms"))
        sms_status = _str(sms.get("status")) if isinstance(sms, Mapping) else None
        sms_status = sms_status.lower() if sms_status else None
        dnd = p.get("dnd") if isinstance(p.get("dnd"), bool) else None
        # The global flag blocks SMS too (conservative, ghl-api.md §4.1).
        blocks = dnd is True or sms_status in _BLOCKING_DND
        clear = not blocks and (dnd is False or sms_status == "inactive")
        phone = _phone(p.get("phone"))
        newest = self._events.record_dnd(
            location_id=event.location_id,
            contact_id=contact_id,
            at=event.timestamp,
            blocks_sms=blocks,
            phone=phone,
            dnd=dnd,
            sms_status=sms_status,
            dnd_settings=settings if isinstance(settings, Mapping) else None,
            webhook_id=event.webhook_id,
        )
        if not newest:
            return []  # a later change for this contact is applied already
        if blocks:
            code = _str(sms.get("code")) if isinstance(sms, Mapping) else None
            self._ledger.record_opt_out(
                event.location_id,
                phone=phone,
                contact_id=contact_id,
                source=WEBHOOK_DND_SOURCE,
                detail=f"dnd={dnd} SMS={sms_status}" + (f" code={code}" if code else ""),
            )
        elif clear:
            self._events.lift_opt_outs(
                event.location_id, source=WEBHOOK_DND_SOURCE, phone=phone, contact_id=contact_id
            )
        return []

    # --- ConversationUnreadUpdate ---------------------------------------------------------

    def _conversation_unread_update(self, event: WebhookEvent) -> list[FollowUp]:
        assert event.location_id is not None
        p = event.payload
        conversation_id = _str(p.get("id")) or _str(p.get("conversationId"))
        count = p.get("unreadCount")
        if conversation_id is None or isinstance(count, bool) or not isinstance(count, int | float):
            return []

        def flag(name: str) -> bool | None:
            value = p.get(name)
            return value if isinstance(value, bool) else None

        self._events.set_unread(
            conversation_id=conversation_id,
            location_id=event.location_id,
            unread_count=int(count),
            at=event.timestamp,
            contact_id=_str(p.get("contactId")),
            inbox=flag("inbox"),
            starred=flag("starred"),
            deleted=flag("deleted"),
        )
        return []
