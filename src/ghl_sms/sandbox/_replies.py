"""Inbound: a contact's reply, stored and counted unread, announced by webhook, and its
STOP/START keywords honoured as GHL does (SMS DND on or off)."""

from __future__ import annotations

from ghl_sms.rules.keywords import KeywordKind, classify_keyword
from ghl_sms.sandbox._accounts import Accounts
from ghl_sms.sandbox._contacts import Contacts
from ghl_sms.sandbox._shapes import TYPE_SMS
from ghl_sms.sandbox.store import MessageRow

__all__ = ["Replies"]


class Replies(Contacts, Accounts):
    def reply(
        self, contact_id: str, body: str, attachments: list[str] | None = None
    ) -> tuple[MessageRow, KeywordKind | None]:
        """The contact texts us: store it, count it unread, fire webhooks, honour keywords."""
        contact = self.store.get_contact(contact_id)
        if contact is None:
            raise KeyError(f"no contact {contact_id!r}")
        phone = contact.get("phone")
        if not phone:
            raise ValueError(f"contact {contact_id!r} has no phone number to reply from")
        location_id = contact["locationId"]
        now = self.clock.now()
        with self.transaction():
            conversation, _ = self.conversation_for(location_id, contact_id)
            our_number = self._number_last_used(conversation.id, location_id)
            row = MessageRow(
                0,
                self.new_id("message"),
                location_id,
                conversation.id,
                contact_id,
                "inbound",
                body,
                list(attachments or []),
                "delivered",
                None,
                None,
                None,
                phone,
                our_number,
                None,
                now,
                None,
                None,
            )
            row = self.store.insert_message(row)
            self.store.record_last_message(
                conversation.id,
                body=body,
                type_=TYPE_SMS,
                direction="inbound",
                date=now,
                unread_delta=1,
            )
            self._emit_inbound(row)
            updated_conversation = self.store.get_conversation(conversation.id)
            assert updated_conversation is not None
            self.emit_unread(updated_conversation)
            kind = classify_keyword(body)
            sms_status = ((contact.get("dndSettings") or {}).get("SMS") or {}).get("status")
            if kind is KeywordKind.OPT_OUT and sms_status != "permanent":
                self.set_sms_dnd(contact, "permanent", f"Contact replied {body.strip()!r}")
            elif kind is KeywordKind.OPT_IN and sms_status in ("active", "permanent"):
                self.set_sms_dnd(contact, "inactive", f"Contact replied {body.strip()!r}")
        return row, kind

    def _number_last_used(self, conversation_id: str, location_id: str) -> str | None:
        for message in self.store.list_messages(conversation_id, before_seq=None, limit=20):
            if message.direction == "outbound" and message.from_number:
                return message.from_number
        numbers = self.numbers(location_id)
        default = next((n for n in numbers if n.is_default), numbers[0] if numbers else None)
        return None if default is None else default.phone
