"""Recording an opt-out a customer asked for by phone, mail or in person (``sms_cancel``'s
``opt_out``).

Recording one only ever blocks texts, so the assistant may do it. Lifting one is not
offered over MCP at all: it needs a person with a reason (``ghl-sms optouts remove``),
and a STOP the contact sent can only be lifted by their START.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ghl_sms.mcp_server._models import CancelResult
from ghl_sms.ops.errors import UsageError

if TYPE_CHECKING:
    from ghl_sms.ops.service import SmsService

__all__ = ["ACTOR", "record_opt_out"]

ACTOR = "assistant (MCP)"
"""Who the audit says recorded it."""


async def record_opt_out(service: SmsService, who: str) -> CancelResult:
    """Opt out ``who`` (a phone number or a contact id) in the service's location only:
    a STOP in one sub-account does not block the same number in another."""
    from ghl_sms.ops.optouts import OptOutBook, normalise_phone
    from ghl_sms.rules.phones import looks_like_phone

    wanted = who.strip()
    if not wanted:
        raise UsageError("opt_out is empty; give the phone number or contact id to opt out.")
    contact_id: str | None = None
    if looks_like_phone(wanted):
        phone = normalise_phone(wanted, service.config.default_region)
    else:
        contact = await service.contacts.show(wanted)
        if contact.phone is None:
            raise UsageError(
                f"Contact {contact.name} ({contact.id}) has no phone number, so there is "
                "nothing to text and nothing to opt out."
            )
        contact_id, phone = contact.id, normalise_phone(contact.phone)
    book = OptOutBook(service.ledger, service.clock)
    outcome = book.add(
        service.location_id,
        phone,
        reason="recorded by an assistant over MCP",
        actor=ACTOR,
        contact_id=contact_id,
    )
    if outcome.added:
        note = f"Opted out: texts to {phone} are refused from now on."
    else:
        since = outcome.opt_out.created_at.strftime("%Y-%m-%d %H:%M UTC")
        note = f"{phone} was opted out already ({outcome.opt_out.source_label}, {since})."
    note += " Only the user can lift it, with `ghl-sms optouts remove`."
    return CancelResult(opted_out=phone, cancelled=True, note=note)
