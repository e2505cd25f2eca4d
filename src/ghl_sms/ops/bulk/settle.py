"""Settling recipients a dead pump left ``sending``, from the ledger (and GHL).

Only whoever holds the location's lease may do this: then nobody is sending them. A
row's ledger record says what became of it:

- sent: the row is ``sent`` with GHL's message id;
- in doubt (the process died between the ledger's claim and GHL's answer): GHL is
  asked, as for any lost answer; a message found is adopted (``sent``), one provably
  absent is marked not sent in the ledger;
- anything else: nothing went out. A running or paused campaign's row goes back to
  ``pending`` (its next attempt, under the same key, sends it or finds it sent); a
  cancelled campaign's row ends ``skipped`` as cancelled.

A cancelled campaign's row whose send GHL could not be asked about yet stays
``sending`` (nobody can say whether it went out) until the next settlement.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from ghl_sms.ghl import GhlError
from ghl_sms.ops.bulk.models import Recipient, RecipientState, SkipReason
from ghl_sms.ops.bulk.store import CANCELLED_REASON, CampaignStore
from ghl_sms.ops.ledger import Ledger, SendState
from ghl_sms.ops.service import SmsService

__all__ = ["settle_interrupted", "settle_known"]

logger = logging.getLogger("ghl_sms.ops.bulk")


def settle_known(
    rows: Sequence[Recipient],
    *,
    store: CampaignStore,
    ledger: Ledger,
    cancelled: Collection[str],
) -> list[Recipient]:
    """Settle what the ledger alone can decide; return the rows still in doubt (of
    cancelled campaigns: the others go back to ``pending`` either way)."""
    left: list[Recipient] = []
    for row in rows:
        record = ledger.get(row.idempotency_key)
        if record is not None and record.state == SendState.SENT:
            store.finish(row.id, RecipientState.SENT, message_id=record.message_id)
        elif row.campaign_id not in cancelled:
            store.finish(row.id, RecipientState.PENDING)
        elif record is not None and record.in_doubt:
            left.append(row)
        else:
            note = " GHL has no such message: it was not sent." if record is not None else ""
            store.finish(
                row.id,
                RecipientState.SKIPPED,
                reason_code=str(SkipReason.CANCELLED),
                reason=CANCELLED_REASON + note,
            )
    return left


async def settle_interrupted(
    rows: Sequence[Recipient],
    *,
    store: CampaignStore,
    ledger: Ledger,
    service: SmsService,
    cancelled: Collection[str],
) -> list[Recipient]:
    """Settle every row, asking GHL about in-doubt sends of cancelled campaigns; return
    the rows GHL could not be asked about (they stay ``sending``)."""
    ask_ghl = False
    for row in rows:
        record = ledger.get(row.idempotency_key)
        if record is not None and record.in_doubt:
            # We hold the location: nobody is sending it; let it be reconciled at once.
            ledger.release(record.id)
            ask_ghl |= row.campaign_id in cancelled
    if ask_ghl:
        # A cancelled campaign won't send again: ask GHL what became of its sends.
        try:
            await service.reconcile_in_doubt()
        except GhlError as exc:
            logger.warning("could not reconcile interrupted sends yet: %s", exc)
    left = settle_known(rows, store=store, ledger=ledger, cancelled=cancelled)
    if rows:
        settled = len(rows) - len(left)
        logger.info("settled %d recipients an interrupted run left in flight", settled)
    return left
