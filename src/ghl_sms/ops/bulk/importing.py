"""Creating a campaign's recipients: the spec checked, and the source streamed into the
store in batches, each row screened locally (its number, a local opt-out; duplicates are
found by the store) before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from ghl_sms.ghl import GhlClient
from ghl_sms.ops.bulk.budget import message_limit
from ghl_sms.ops.bulk.models import Campaign, CampaignSpec, NewRecipient
from ghl_sms.ops.bulk.sources import RecipientSource
from ghl_sms.ops.bulk.store import CampaignStore
from ghl_sms.ops.bulk.template import Template
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.rules.preflight import ReasonCode

__all__ = ["ImportCallback", "check_spec", "import_recipients", "screen_row"]

ImportCallback = Callable[[int], None]
"""Told the number of recipients stored so far, after each batch."""


def check_spec(spec: CampaignSpec) -> Template:
    if not spec.location_id.strip():
        raise UsageError("A campaign needs a location id.")
    if not spec.template.strip():
        raise UsageError("The message template is empty.")
    template = Template.parse(spec.template)
    if spec.quiet_hours not in ("defer", "skip"):
        raise UsageError("quiet_hours must be 'defer' or 'skip'.")
    if spec.max_attempts < 1:
        raise UsageError("max_attempts must be at least 1.")
    caps = spec.caps
    message_limit(caps.per_minute, caps.per_day, caps.day_timezone)
    message_limit(caps.number_per_minute, caps.number_per_day, caps.day_timezone)
    return template


async def import_recipients(
    store: CampaignStore,
    ledger: Ledger,
    campaign: Campaign,
    source: RecipientSource,
    open_client: Callable[[], AbstractAsyncContextManager[GhlClient]],
    *,
    region: str,
    batch_size: int,
    on_import: ImportCallback | None,
) -> int:
    """Stream the source's rows into the store; return how many there were."""
    batch: list[NewRecipient] = []
    seq = 0
    async for row in source.rows(open_client, region):
        batch.append(screen_row(ledger, campaign.location_id, row))
        if len(batch) >= batch_size:
            store.add_recipients(campaign.id, seq + 1, batch)
            seq += len(batch)
            batch = []
            if on_import is not None:
                on_import(seq)
    if batch:
        store.add_recipients(campaign.id, seq + 1, batch)
        seq += len(batch)
    if on_import is not None:
        on_import(seq)
    return seq


def screen_row(ledger: Ledger, location_id: str, row: NewRecipient) -> NewRecipient:
    """A row whose recipient opted out here is skipped at once (no lookup spent)."""
    if row.skip is not None:
        return row
    phone = row.phone if row.phone and row.phone.startswith("+") else None
    opt_out = ledger.opt_out_for(location_id, phone=phone, contact_id=row.contact_id)
    if opt_out is None:
        return row
    return NewRecipient(
        row.contact_id,
        row.phone,
        row.fields,
        (
            str(ReasonCode.OPTED_OUT),
            "The contact opted out of texts; they must text START before you text them again.",
        ),
    )
