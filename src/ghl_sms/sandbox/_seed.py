"""The demo location: stable ids and a dozen contacts with named traits.

The ids never change, so the demo, the docs and tests can name them. Phone numbers use
the fictional 555-01XX range; the carrier's rules (``carrier.py``) give each its
behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghl_sms.sandbox._engine import SandboxEngine

__all__ = [
    "DEFAULT_NUMBER",
    "DEMO_LOCATION_ID",
    "DEMO_TOKEN",
    "SEED_CONTACTS",
    "UNREGISTERED_NUMBER",
    "SeedContact",
    "seed",
    "seed_ids",
]

DEMO_LOCATION_ID = "sandboxDemoLocation1"
DEMO_TOKEN = "pit-5a4db0c5-0000-4000-8000-000000000001"
DEFAULT_NUMBER = "+14155550190"
UNREGISTERED_NUMBER = "+14155550191"


def _contact_id(word: str) -> str:
    return ("sbxCt" + word).ljust(19, "0") + "1"


@dataclass(frozen=True)
class SeedContact:
    trait: str
    id: str
    first_name: str
    last_name: str
    phone: str | None
    behaviour: str
    extra: dict[str, Any] = field(default_factory=dict)


SEED_CONTACTS: tuple[SeedContact, ...] = (
    SeedContact("reachable", _contact_id("Reachable"), "Ava", "Reed", "+14155550100",
                "delivered (pending -> sent -> delivered in 3 s)"),
    SeedContact("sms_dnd", _contact_id("SmsDnd"), "Ben", "Carter", "+14155550102",
                "send refused: 400 Cannot send message as DND is active for SMS.",
                {"dndSettings": {"SMS": {"status": "active",
                                         "message": "Updated by 'Sandbox' at 2026-01-01"}}}),
    SeedContact("email_dnd", _contact_id("EmailDnd"), "Chloe", "Diaz", "+14155550112",
                "email DND only: SMS is delivered",
                {"dndSettings": {"Email": {"status": "active",
                                           "message": "Unsubscribed from email"}}}),
    SeedContact("no_phone", _contact_id("NoPhone"), "Dan", "Evans", None,
                "send refused: 400 Missing phone number"),
    SeedContact("landline", _contact_id("Landline"), "Eve", "Foster", "+14155550106",
                "undelivered 30006 (landline); SMS DND switches on"),
    SeedContact("invalid", _contact_id("Invalid"), "Finn", "Garcia", "+10005550100",
                "failed 21211 (invalid number)"),
    SeedContact("opted_out", _contact_id("OptedOut"), "Gina", "Hall", "+14155550110",
                "failed 21610 (opted out at the carrier; GHL shows no DND)"),
    SeedContact("quiet_hours_fl", _contact_id("Florida"), "Hugo", "Ito", "+13055550100",
                "delivered; Florida (08:00-20:00 window), timezone America/New_York",
                {"state": "FL", "city": "Miami", "timezone": "America/New_York"}),
    SeedContact("quiet_hours_tx", _contact_id("Texas"), "Ivy", "Jones", "+15125550100",
                "delivered; Texas (Sunday from 12:00), no timezone on the contact",
                {"state": "TX", "city": "Austin"}),
    SeedContact("international", _contact_id("International"), "Jack", "King", "+447400123456",
                "delivered; a UK mobile, timezone Europe/London",
                {"country": "GB", "city": "London", "timezone": "Europe/London"}),
    SeedContact("unreachable", _contact_id("Unreachable"), "Kai", "Lewis", "+14155550103",
                "undelivered 30003 (unreachable handset); SMS DND switches on"),
    SeedContact("filtered", _contact_id("Filtered"), "Lena", "Moore", "+14155550107",
                "undelivered 30007 (carrier filtering)"),
    SeedContact("no_mms", _contact_id("NoMms"), "Milo", "Nash", "+14155550111",
                "SMS delivered; MMS undelivered 30011 (handset without MMS)"),
)  # fmt: skip


def seed(engine: SandboxEngine) -> dict[str, str]:
    """Create the demo location, its token, numbers and contacts; returns ``seed_ids``."""
    store = engine.store
    with engine.transaction():
        engine.create_location(
            {
                "id": DEMO_LOCATION_ID,
                "companyId": "sandboxDemoCompany01",
                "name": "Sandbox Dental (demo)",
                "address": "1 Market St",
                "city": "San Francisco",
                "state": "CA",
                "country": "US",
                "postalCode": "94105",
                "website": "https://example.com",
                "timezone": "America/Los_Angeles",
                "email": "frontdesk@example.com",
                "phone": DEFAULT_NUMBER,
            }
        )
        engine.create_token(DEMO_LOCATION_ID, token=DEMO_TOKEN)
        engine.add_number(DEMO_LOCATION_ID, DEFAULT_NUMBER, friendly_name="Front desk",
                          is_default=True)  # fmt: skip
        engine.add_number(DEMO_LOCATION_ID, UNREGISTERED_NUMBER,
                          friendly_name="New line (A2P 10DLC not registered)",
                          a2p_registered=False)  # fmt: skip
        for spec in SEED_CONTACTS:
            fields: dict[str, Any] = {
                "firstName": spec.first_name,
                "lastName": spec.last_name,
                "email": f"{spec.first_name}.{spec.last_name}@example.com".lower(),
                "source": "sandbox seed",
                "tags": ["sandbox", spec.trait],
                "country": "US",
            }
            if spec.phone is not None:
                fields["phone"] = spec.phone
            fields.update(spec.extra)
            store.insert_contact(engine.build_contact(DEMO_LOCATION_ID, fields, contact_id=spec.id))
    return seed_ids()


def seed_ids() -> dict[str, str]:
    """Trait name -> contact id; number trait -> phone number; plus location and token."""
    ids = {spec.trait: spec.id for spec in SEED_CONTACTS}
    ids["default_number"] = DEFAULT_NUMBER
    ids["unregistered_number"] = UNREGISTERED_NUMBER
    return ids
