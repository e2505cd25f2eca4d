"""The demo agency: one company, its sub-accounts (locations) and a marketplace app.

The agency is the company the demo location already names (``sandboxDemoCompany01``),
so ``sandboxDemoLocation1`` stays exactly as it was and is simply one of its
sub-accounts. Three more locations follow, each with its own sending numbers and a few
contacts; the app is installed on the first three and deliberately not on the fourth.
Ids and credentials never change, so docs, tests and ``ghl-sms login --sandbox`` can
name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ghl_sms._scopes import AGENCY_SCOPES
from ghl_sms.sandbox._auth import ALL_SCOPES
from ghl_sms.sandbox._seed import DEMO_LOCATION_ID

if TYPE_CHECKING:
    from ghl_sms.sandbox._engine import SandboxEngine

__all__ = [
    "AGENCY_COMPANY_ID",
    "AGENCY_LOCATIONS",
    "AGENCY_NAME",
    "APP_SCOPES",
    "OAUTH_APP",
    "AgencyContact",
    "AgencyLocation",
    "OAuthApp",
    "seed_agency",
]

AGENCY_COMPANY_ID = "sandboxDemoCompany01"  # the demo location's companyId since day one
AGENCY_NAME = "Sandbox Agency (demo)"
AGENCY_USER_ID = "sandboxAgencyUser001"  # the agency admin who "installed" the app

# What the app may ask for: every location scope the sandbox knows plus the two the
# agency routes need.
APP_SCOPES = (*ALL_SCOPES, *AGENCY_SCOPES)


@dataclass(frozen=True)
class OAuthApp:
    """The registered marketplace app. ``client_id`` is ``<appId>-<8 chars>`` and the
    secret a plain UUID, the shapes GHL hands out."""

    name: str
    app_id: str
    version_id: str
    client_id: str
    client_secret: str = field(repr=False)
    company_id: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]


OAUTH_APP = OAuthApp(
    name="ghl-sms (sandbox app)",
    app_id="5a4db0c5e000000000000a01",  # the appId the sandbox's webhooks carry
    version_id="5a4db0c5e000000000000b01",
    client_id="5a4db0c5e000000000000a01-sandbox1",
    client_secret="5a4db0c5-5ec2-4000-8000-000000000a01",
    company_id=AGENCY_COMPANY_ID,
    scopes=APP_SCOPES,
    # Any port on these loopback URLs is accepted too (RFC 8252 §7.3).
    redirect_uris=("http://127.0.0.1/callback", "http://localhost/callback"),
)


@dataclass(frozen=True)
class AgencyContact:
    trait: str
    id: str
    first_name: str
    last_name: str
    phone: str
    extra: dict[str, Any]


@dataclass(frozen=True)
class AgencyLocation:
    id: str
    name: str
    city: str
    state: str
    timezone: str
    numbers: tuple[str, ...]  # the first is the default sender
    installed: bool
    contacts: tuple[AgencyContact, ...]


def _contact(n: int, trait: str, word: str, first: str, last: str, phone: str,
             **extra: Any) -> AgencyContact:  # fmt: skip
    return AgencyContact(
        trait, f"sbxL{n}Ct{word}".ljust(19, "0") + "1", first, last, phone, dict(extra)
    )


_DND = {"dndSettings": {"SMS": {"status": "active", "message": "Updated by 'Sandbox'"}}}


def _location(n: int, name: str, city: str, state: str, timezone: str, area: str,
              first_names: tuple[str, str, str], installed: bool) -> AgencyLocation:  # fmt: skip
    a, b, c = first_names
    return AgencyLocation(
        id=f"sandboxDemoLocation{n}",
        name=name,
        city=city,
        state=state,
        timezone=timezone,
        numbers=(f"+1{area}5550190", f"+1{area}5550192"),
        installed=installed,
        contacts=(
            _contact(n, "reachable", "Reachable", a, "Adams", f"+1{area}5550100"),
            _contact(n, "reachable_2", "Second", b, "Brooks", f"+1{area}5550101"),
            _contact(n, "sms_dnd", "SmsDnd", c, "Cole", f"+1{area}5550102", **_DND),
        ),
    )


# The demo location (sandboxDemoLocation1) is listed in AGENCY_LOCATION_IDS, not here:
# its data lives in _seed.py and does not change.
AGENCY_LOCATIONS: tuple[AgencyLocation, ...] = (
    _location(2, "Sandbox Fitness (demo)", "Chicago", "IL", "America/Chicago", "312",
              ("Omar", "Pia", "Quinn"), installed=True),
    _location(3, "Sandbox Realty (demo)", "Denver", "CO", "America/Denver", "720",
              ("Rosa", "Sam", "Tara"), installed=True),
    _location(4, "Sandbox Salon (demo, app not installed)", "Boston", "MA",
              "America/New_York", "617", ("Uma", "Vic", "Wes"), installed=False),
)  # fmt: skip

AGENCY_LOCATION_IDS: tuple[str, ...] = (DEMO_LOCATION_ID, *(loc.id for loc in AGENCY_LOCATIONS))
INSTALLED_LOCATION_IDS: tuple[str, ...] = (
    DEMO_LOCATION_ID,
    *(loc.id for loc in AGENCY_LOCATIONS if loc.installed),
)


def seed_agency(engine: SandboxEngine) -> None:
    """Create the company, its extra locations, the app and its installs, unless the
    company exists already. Needs the demo location (``_seed.seed``) first."""
    oauth = engine.oauth
    if oauth.store.get_company(AGENCY_COMPANY_ID) is not None:
        return
    with engine.transaction():
        oauth.store.insert_company(
            {
                "id": AGENCY_COMPANY_ID,
                "name": AGENCY_NAME,
                "email": "owner@agency.example.com",
                "timezone": "America/Los_Angeles",
                "country": "US",
            }
        )
        for spec in AGENCY_LOCATIONS:
            engine.create_location(
                {
                    "id": spec.id,
                    "companyId": AGENCY_COMPANY_ID,
                    "name": spec.name,
                    "address": "1 Main St",
                    "city": spec.city,
                    "state": spec.state,
                    "country": "US",
                    "timezone": spec.timezone,
                    "phone": spec.numbers[0],
                }
            )
            for index, phone in enumerate(spec.numbers):
                engine.add_number(
                    spec.id,
                    phone,
                    is_default=index == 0,
                    friendly_name="Main line" if index == 0 else "Second line",
                )
            for person in spec.contacts:
                fields: dict[str, Any] = {
                    "firstName": person.first_name,
                    "lastName": person.last_name,
                    "email": f"{person.first_name}.{person.last_name}@example.com".lower(),
                    "phone": person.phone,
                    "source": "sandbox seed",
                    "tags": ["sandbox", person.trait],
                    "country": "US",
                    **person.extra,
                }
                engine.store.insert_contact(
                    engine.build_contact(spec.id, fields, contact_id=person.id)
                )
        oauth.register_app(OAUTH_APP)
        for location_id in INSTALLED_LOCATION_IDS:
            oauth.install(OAUTH_APP.app_id, location_id)
