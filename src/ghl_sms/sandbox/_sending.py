"""Sending: an SMS/MMS queued with the outcome the carrier will give it (from the
numbers involved and any override), sent now or scheduled, and a scheduled one cancelled."""

from __future__ import annotations

from ghl_sms.sandbox import carrier
from ghl_sms.sandbox._accounts import Accounts
from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._engine_base import JsonDict, sms_dnd_blocks, to_e164
from ghl_sms.sandbox._errors import bad_request
from ghl_sms.sandbox._progress import CarrierProgress
from ghl_sms.sandbox._shapes import TYPE_SMS
from ghl_sms.sandbox.store import MessageRow, NumberRow

__all__ = ["Sending"]

_SCHEDULED_OK = "Scheduled message cancelled successfully."
_SCHEDULED_FAILED = "Failed cancel the scheduled message"


class Sending(CarrierProgress, Accounts):
    def send_sms(
        self,
        ctx: AuthContext,
        contact: JsonDict,
        *,
        body: str,
        attachments: list[str],
        from_number: str | None,
        to_number: str | None,
        scheduled_at: float | None,
    ) -> MessageRow:
        """Queue an SMS/MMS; validation of the request body has already happened."""
        ctx.require_location(contact["locationId"])
        recipient = to_number or contact.get("phone")
        if not recipient:
            raise bad_request("Missing phone number")
        if sms_dnd_blocks(contact):
            raise bad_request("Cannot send message as DND is active for SMS.")
        numbers = self.numbers(ctx.location_id)
        sender_row: NumberRow | None
        if from_number:
            wanted = to_e164(from_number) or from_number
            sender_row = next((n for n in numbers if n.phone == wanted), None)
            sender_phone: str | None = wanted
        else:
            sender_row = next((n for n in numbers if n.is_default), numbers[0] if numbers else None)
            sender_phone = None if sender_row is None else sender_row.phone
        sender = (
            None
            if sender_row is None
            else carrier.Sender(sender_row.sms, sender_row.mms, sender_row.a2p_registered)
        )
        to_e = to_e164(recipient) or recipient
        override = self.carrier.get(to_e)
        outcome = carrier.plan(
            to_e,
            sender,
            has_media=bool(attachments),
            override=None if override is None else override.outcome,
        )
        slow = 0.0 if override is None else override.delay
        now = self.clock.now()
        scheduled = scheduled_at is not None and scheduled_at > now
        with self.transaction():
            conversation_id = self.store.conversation_id_for_contact(ctx.location_id, contact["id"])
            if conversation_id is None:
                conversation_id = self.conversation_for(ctx.location_id, contact["id"])[0].id
            row = MessageRow(
                0,
                self.new_id("message"),
                ctx.location_id,
                conversation_id,
                contact["id"],
                "outbound",
                body,
                attachments,
                "scheduled" if scheduled else "pending",
                None,
                outcome.status,
                outcome.code,
                sender_phone,
                to_e,
                "api",
                now,
                scheduled_at if scheduled else None,
                scheduled_at if scheduled else now + carrier.SENT_AFTER + slow,
            )
            row = self.store.insert_message(row)
            if not scheduled:
                self.store.record_last_message(
                    conversation_id,
                    body=body,
                    type_=TYPE_SMS,
                    direction="outbound",
                    date=now,
                    unread_delta=0,
                )
            self._emit_outbound(row)
            self._note_due(row.next_at)
        return row

    def cancel_scheduled(self, ctx: AuthContext, message_id: str) -> JsonDict:
        with self.transaction():
            message = self.store.get_message(message_id)
            if message is not None:
                ctx.require_location(message.location_id)
            if message is None or message.status != "scheduled":
                return {"status": 404, "message": _SCHEDULED_FAILED}
            self.store.set_message_status(
                message_id, status="cancelled", error_code=None, next_at=None
            )
            self._due_known = False
            cancelled = self.store.get_message(message_id)
            assert cancelled is not None
            self._emit_outbound(cancelled)
        return {"status": 200, "message": _SCHEDULED_OK}
