"""The service's reads and small actions: status, cancel, threads, the inbox, a check
of who can be texted, and the sending numbers. Nothing here sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from ghl_sms._clock import utc_datetime
from ghl_sms.ghl import Contact
from ghl_sms.ops._recipient import number_texted, require_one_recipient
from ghl_sms.ops._service_base import FINAL_STATUSES, ServiceBase, explain_failure
from ghl_sms.ops.errors import RecipientNotFound, UsageError
from ghl_sms.ops.ledger import SendRecord
from ghl_sms.ops.models import (
    CancelOutcome,
    CheckResult,
    Conversation,
    InboxPage,
    MessageStatus,
    Note,
    SenderNumber,
    ThreadMessage,
    ThreadPage,
)
from ghl_sms.rules.carrier_errors import OPT_OUT_CODES
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.preflight import ReasonCode, preflight

__all__ = ["ServiceReads"]

# Reasons that describe the text, not the recipient: a check without a text drops them.
_TEXT_REASONS = frozenset(
    {
        ReasonCode.EMPTY,
        ReasonCode.TOO_LONG,
        ReasonCode.MANY_SEGMENTS,
        ReasonCode.UCS2_REPLACEABLE,
        ReasonCode.FIRST_MESSAGE_FOOTER,
    }
)


class ServiceReads(ServiceBase):
    """Status, cancel, threads, inbox, check and numbers."""

    # --- cancel, status -------------------------------------------------------------------

    async def cancel(self, message_id: str) -> CancelOutcome:
        """Cancel a scheduled message; raises NotFoundError if it is no longer scheduled."""
        result = await self.client.cancel_scheduled_message(message_id)
        self.ledger.mark_cancelled(message_id)
        return CancelOutcome(message_id=message_id, cancelled=True, message=result.message)

    def scheduled(self) -> list[SendRecord]:
        return self.ledger.scheduled(self.location_id)

    def known_status(self, message_id: str) -> MessageStatus | None:
        """A final status the webhook receiver or the watcher already recorded, if any:
        known without asking GHL again."""
        latest = self.events.latest_status(message_id)
        if latest is None or latest.status not in FINAL_STATUSES:
            return None
        record = self.ledger.by_message_id(message_id)
        explanation, advice = explain_failure(
            latest.status, latest.error_code, latest.error_message
        )
        return MessageStatus(
            message_id=message_id,
            status=latest.status,
            direction="outbound",
            contact_id=record.contact_id if record else None,
            conversation_id=record.conversation_id if record else None,
            body=record.text if record else None,
            date_added=datetime.fromtimestamp(record.created_at, UTC) if record else None,
            error_code=latest.error_code,
            explanation=explanation,
            advice=advice,
            final=True,
            known_from=latest.source,
        )

    async def status(self, message_id: str, *, refresh: bool = False) -> MessageStatus:
        """A message's status, with a failure explained and what to do about it.

        A final status already received by webhook (or the watcher) is answered from the
        ledger; ``refresh`` asks GHL regardless.
        """
        if not refresh:
            known = self.known_status(message_id)
            if known is not None:
                return known
        message = await self.client.get_message(message_id)
        code = message.error.code if message.error else None
        # GHL's own words, which could echo anything: redacted before shown or stored.
        detail = message.error.message if message.error else None
        detail = self.client.redact(detail) if detail else None
        explanation, advice = explain_failure(message.status, code, detail)
        if message.status:
            self.ledger.update_status(
                message_id, message.status, error_code=code, error_message=detail
            )
        if code in OPT_OUT_CODES and message.contact_id:
            # The carrier says the recipient opted out (e.g. STOP sent to another number of
            # ours) even if GHL shows no DND: never text them again until they opt back in.
            contact = await self.client.get_contact(message.contact_id)
            self.ledger.record_opt_out(
                self.location_id,
                phone=contact.phone,
                contact_id=contact.id,
                source="carrier",
                detail=f"error {code} on message {message_id}",
            )
        return MessageStatus(
            message_id=message.id,
            status=message.status,
            direction=message.direction,
            contact_id=message.contact_id,
            conversation_id=message.conversation_id,
            body=message.body,
            date_added=message.date_added,
            error_code=code,
            explanation=explanation,
            advice=advice,
            final=(message.status or "") in FINAL_STATUSES,
        )

    # --- reading conversations ------------------------------------------------------------

    async def thread(
        self,
        *,
        contact_id: str | None = None,
        to: str | None = None,
        conversation_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ThreadPage:
        """A conversation's messages, newest last; ``next_cursor`` pages to older ones."""
        require_one_recipient(
            to=to,
            contact_id=contact_id,
            conversation_id=conversation_id,
            missing="Say whose thread: a contact id, a phone number or a conversation.",
        )
        contact: Contact | None = None
        if not conversation_id:
            if contact_id:
                contact = await self._contact(contact_id)
            else:
                try:
                    e164 = parse_phone(to or "", self.config.default_region).e164
                except PhoneNumberError as exc:
                    raise UsageError(str(exc)) from None
                contact = await self._contact_by_phone(e164)
                if contact is None:
                    raise RecipientNotFound(f"No contact with phone {e164} in this location.")
            assert contact is not None  # require_one_recipient: one of the three was given
            conversation_id = await self._conversation_of(contact.id)
            if conversation_id is None:
                return ThreadPage(
                    conversation_id=None,
                    contact_id=contact.id,
                    contact_name=contact.display_name,
                    phone=contact.phone,
                    messages=[],
                )
        detail = await self._conversation(conversation_id)
        if contact is None:
            contact = await self._contact(detail.contact_id)
        page = await self.client.list_messages(conversation_id, last_message_id=cursor, limit=limit)
        messages = [
            ThreadMessage(
                id=m.id,
                direction=m.direction,
                body=m.body,
                status=m.status,
                date_added=m.date_added,
                attachments=m.attachments,
                error_code=m.error.code if m.error else None,
            )
            for m in reversed(page.messages)
        ]
        return ThreadPage(
            conversation_id=conversation_id,
            contact_id=contact.id,
            contact_name=contact.display_name,
            phone=contact.phone,
            unread_count=detail.unread_count,
            messages=messages,
            next_cursor=page.last_message_id if page.next_page else None,
        )

    async def inbox(
        self, *, unread_only: bool = False, limit: int = 20, cursor: str | None = None
    ) -> InboxPage:
        """Conversations, most recent first, with their unread counts."""
        start_after = float(cursor) if cursor else None
        page = await self.client.search_conversations(
            status="unread" if unread_only else None, limit=limit, start_after_date=start_after
        )
        items = [
            Conversation(
                id=c.id,
                contact_id=c.contact_id,
                contact_name=c.full_name or c.contact_name,
                phone=c.phone,
                unread_count=c.unread_count,
                last_message=c.last_message_body,
                last_message_direction=c.last_message_direction,
                last_message_at=c.last_message_date,
            )
            for c in page.conversations
        ]
        next_cursor = None
        if len(page.conversations) >= limit and page.conversations:
            last = page.conversations[-1]
            value = (
                last.sort[0]
                if last.sort
                else (last.last_message_date.timestamp() * 1000 if last.last_message_date else None)
            )
            next_cursor = f"{value:.0f}" if value is not None else None
        return InboxPage(
            conversations=items,
            unread_conversations=sum(1 for c in items if c.unread_count > 0),
            next_cursor=next_cursor,
        )

    # --- check, numbers -------------------------------------------------------------------

    async def check(
        self,
        *,
        contact_id: str | None = None,
        to: str | None = None,
        text: str | None = None,
        attachments: Sequence[str] = (),
        from_number: str | None = None,
        transactional: bool = False,
    ) -> CheckResult:
        """Would a text to this contact or number go out now? Sends nothing, creates nothing."""
        require_one_recipient(
            to=to,
            contact_id=contact_id,
            missing="Say who to check: a contact id or a phone number.",
        )
        now = utc_datetime(self.clock)
        sender = await self._sender(from_number)
        contact: Contact | None = None
        e164: str | None = None
        if contact_id:
            contact = await self._contact(contact_id)
        else:
            try:
                e164 = parse_phone(to or "", self.config.default_region).e164
            except PhoneNumberError:
                pass  # the preflight reports it as invalid
            else:
                contact = await self._contact_by_phone(e164)
                if contact is not None:
                    number_texted(contact, e164, self.config.default_region)
        is_first = contact is None or await self._conversation_of(contact.id) is None
        opted_out = self._opted_out(contact, e164 or (contact.phone if contact else None))
        verdict = preflight(
            contact=contact,
            to=to if contact is None else None,  # GHL texts the contact's own phone
            text=text if text is not None else "Hello",
            now=now,
            sender=sender,
            attachments=attachments,
            opted_out=opted_out,
            location_timezone=await self._location_tz(),
            is_first_message=is_first,
            transactional=transactional,
            default_region=self.config.default_region,
            many_segments=self.config.many_segments,
        )
        notes = Note.all_of(verdict)
        if text is None:
            notes = [n for n in notes if n.code not in _TEXT_REASONS]
        level: Literal["ok", "warn", "blocked"] = (
            "blocked" if any(n.level == "blocked" for n in notes) else ("warn" if notes else "ok")
        )
        quiet = verdict.quiet_hours
        return CheckResult(
            verdict=level,
            notes=notes,
            contact_id=contact.id if contact else None,
            contact_name=contact.display_name if contact else None,
            to=verdict.to,
            sms_dnd=bool(contact and contact.sms_dnd),
            opted_out=opted_out,
            from_number=sender.phone_number if sender else None,
            local_time_ok=quiet.allowed if quiet else None,
            next_allowed_at=verdict.next_allowed_at,
            encoding=verdict.segments.encoding if text is not None else None,
            segments=verdict.segments.segments if text is not None else None,
        )

    async def numbers(self) -> list[SenderNumber]:
        return [
            SenderNumber(
                phone_number=n.phone_number,
                name=n.friendly_name,
                sms=n.capabilities.sms,
                mms=n.capabilities.mms,
                is_default=n.is_default_number,
                type=n.type,
            )
            for n in await self.sender_numbers(refresh=True)
        ]
