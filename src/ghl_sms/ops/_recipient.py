"""Exactly one recipient per operation, and the number that is really texted.

A send names its recipient once: a phone number, a contact id or a conversation. Two
sources for one value let one of them win silently (the contact was texted while the
other number was reported and preflighted), so any two are refused.

GHL texts a contact's own ``phone``; when a send names a number, that number must be the
contact's, and the preflight and the outcome use it.
"""

from __future__ import annotations

from ghl_sms.ghl import Contact
from ghl_sms.ops.errors import UsageError
from ghl_sms.rules.phones import PhoneNumberError, parse_phone

__all__ = ["number_texted", "require_one_recipient"]

_KINDS = (
    ("to", "a phone number"),
    ("contact_id", "a contact id"),
    ("conversation_id", "a conversation id"),
)


def _given(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def require_one_recipient(
    *,
    to: str | None = None,
    contact_id: str | None = None,
    conversation_id: str | None = None,
    missing: str,
) -> None:
    """Refuse none (with ``missing`` as the message) or more than one recipient."""
    values = {"to": to, "contact_id": contact_id, "conversation_id": conversation_id}
    given = [(kind, values[name]) for name, kind in _KINDS if _given(values[name])]
    if not given:
        raise UsageError(missing)
    if len(given) == 1:
        return
    named = [f"{kind} ({value.strip() if value else ''})" for kind, value in given]
    listed = " and ".join([", ".join(named[:-1]), named[-1]])
    kinds = [kind for kind, _ in given]
    either = " or ".join([", ".join(kinds[:-1]), kinds[-1]])
    raise UsageError(
        f"Give one recipient: {listed} were both given. Give either {either}, not both."
        if len(given) == 2
        else f"Give one recipient: {listed} were all given. Give either {either}, not several."
    )


def number_texted(contact: Contact, asked: str | None, default_region: str) -> None:
    """Refuse a send to ``asked`` (E.164) when the contact found for it would be texted at
    another number: GHL sends to the contact's own phone, whatever number found it."""
    if asked is None or not contact.phone:
        return
    try:
        own = parse_phone(contact.phone, default_region).e164
    except PhoneNumberError:
        own = contact.phone
    if own != asked:
        raise UsageError(
            f"{asked} belongs to contact {contact.id}, whose own number is {own}, and GHL "
            f"texts that one; send to the contact id, or fix the contact's phone in GHL."
        )
