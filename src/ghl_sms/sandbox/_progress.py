"""The carrier's progress over time: every message with a due time moves one step when
the clock reaches it (scheduled -> pending -> sent -> delivered, or a failure), emitting
an OutboundMessage event per step; carrier errors that mean "opted out" put the contact
on SMS DND, as GHL does."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from ghl_sms.rules.carrier_errors import AUTO_DND_CODES, lookup
from ghl_sms.sandbox import carrier
from ghl_sms.sandbox._contacts import Contacts
from ghl_sms.sandbox._engine_base import sms_dnd_blocks
from ghl_sms.sandbox._shapes import TYPE_SMS
from ghl_sms.sandbox.store import MessageRow

__all__ = ["CarrierProgress"]


class CarrierProgress(Contacts):
    def _note_due(self, at: float | None) -> None:
        if at is not None and self._due_known and (self._next_due is None or at < self._next_due):
            self._next_due = at

    def process_due(self, now: float | None = None) -> int:
        """Apply every transition whose time has come; returns how many were applied."""
        if now is None:
            now = self.clock.now()
        if self._due_known and (self._next_due is None or self._next_due > now):
            return 0
        applied = 0
        with self.transaction():
            while True:
                for message in self.store.due_messages(now):
                    self._advance(message, now)
                    applied += 1
                next_due = self.store.next_due_at()
                if next_due is None or next_due > now:
                    break
            self._next_due = next_due
            self._due_known = True
        return applied

    def _advance(self, message: MessageRow, now: float) -> None:
        at = message.next_at
        assert at is not None
        if message.status == "scheduled":
            planned_status, planned_code = message.planned_status, message.planned_code
            contact = self.store.get_contact(message.contact_id)
            if contact is not None and sms_dnd_blocks(contact):
                planned_status, planned_code = "failed", "21610"
            updated = _moved(message, "pending", None, at + carrier.SENT_AFTER)
            updated = replace(updated, planned_status=planned_status, planned_code=planned_code)
            self.store.set_message_status(
                message.id,
                status=updated.status,
                error_code=None,
                next_at=updated.next_at,
                planned_status=planned_status,
                planned_code=planned_code,
                replan=True,
            )
            self.store.record_last_message(
                message.conversation_id,
                body=message.body,
                type_=TYPE_SMS,
                direction="outbound",
                date=at,
                unread_delta=0,
            )
            self._emit_outbound(updated, now=now)
            return
        outcome = carrier.Outcome(
            cast(carrier.FinalStatus, message.planned_status or "delivered"),
            message.planned_code,
        )
        step = carrier.next_step(message.status, outcome)
        if step is None:  # nothing left to do; clear the stray due time
            self.store.set_message_status(
                message.id, status=message.status, error_code=message.error_code, next_at=None
            )
            return
        status = step[1]
        failed = status in ("failed", "undelivered")
        follow = None if failed or status == "delivered" else carrier.next_step(status, outcome)
        updated = _moved(
            message,
            status,
            outcome.code if failed else None,
            None if follow is None else at + follow[0],
        )
        self.store.set_message_status(
            message.id, status=status, error_code=updated.error_code, next_at=updated.next_at
        )
        self._emit_outbound(updated, now=now)
        if failed and updated.error_code in AUTO_DND_CODES:
            contact = self.store.get_contact(message.contact_id)
            if contact is not None and not sms_dnd_blocks(contact):
                entry = lookup(updated.error_code)
                title = entry.title if entry is not None else "carrier error"
                self.set_sms_dnd(contact, "active", f"Carrier error {updated.error_code}: {title}")


def _moved(message: MessageRow, status: str, code: str | None, next_at: float | None) -> MessageRow:
    """``message`` with a new status (dataclasses.replace is several times slower)."""
    m = message
    return MessageRow(
        m.seq, m.id, m.location_id, m.conversation_id, m.contact_id, m.direction, m.body,
        m.attachments, status, code, m.planned_status, m.planned_code, m.from_number,
        m.to_number, m.source, m.date_added, m.scheduled_at, next_at,
    )  # fmt: skip
