"""Settling sends whose outcome is in doubt: looking for them in GHL before anything is
sent again (``SmsService`` inherits it; a pump's reconciliation uses the same lookup)."""

from __future__ import annotations

from ghl_sms.ghl import Message
from ghl_sms.ops._reads import ServiceReads
from ghl_sms.ops.ledger import SendRecord

__all__ = ["Reconciler"]


class Reconciler(ServiceReads):
    """Finds an in-doubt send in the contact's conversation, and settles the ledger."""

    async def _find_sent(self, record: SendRecord) -> Message | None:
        """Look for an in-doubt send in the contact's conversation.

        Returns the message when found; None only when it is provably absent (the
        conversation is gone through back to before the record was made).
        """
        if not record.contact_id:
            return None
        conversation_id = record.conversation_id or await self._conversation_of(record.contact_id)
        if conversation_id is None:
            return None  # no conversation: no message
        since = record.created_at - self.config.reconcile_lookback
        wanted = sorted(record.attachments)
        async for message in self.client.iter_messages(conversation_id, page_size=50):
            if message.date_added is not None and message.date_added.timestamp() < since:
                break
            if (
                message.direction == "outbound"
                and (message.body or "") == record.text
                and sorted(message.attachments) == wanted
            ):
                return message
        return None

    async def reconcile_in_doubt(self) -> list[SendRecord]:
        """Settle every in-doubt send of this location whose lease has run out.

        Found messages are adopted; provably absent ones are marked failed (nothing
        went out), so a later identical send is not mistaken for a repeat.
        """
        settled = []
        now = self.clock.now()
        for record in self.ledger.in_doubt(self.location_id):
            if record.lease_until is not None and record.lease_until > now:
                continue
            found = await self._find_sent(record)
            if found is not None:
                settled.append(
                    self.ledger.mark_sent(
                        record.id,
                        message_id=found.id,
                        conversation_id=found.conversation_id,
                        status=found.status,
                    )
                )
            else:
                settled.append(
                    self.ledger.mark_failed(
                        record.id,
                        error_code=None,
                        error_message="not found in GHL after an interrupted send; not sent",
                    )
                )
        return settled
