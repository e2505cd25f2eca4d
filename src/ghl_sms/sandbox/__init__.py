"""A local emulator of the GHL API endpoints ghl-sms uses, with a simulated carrier.

``Sandbox`` is the entry point: ``Sandbox().app`` is the ASGI app, ``.transport()`` an
in-process httpx2 transport, ``.serve()`` runs it over HTTP (``ghl-sms sandbox``).
"""

from typing import TYPE_CHECKING

from ghl_sms._lazy import lazy_exports

if TYPE_CHECKING:
    from ghl_sms.sandbox._auth import ACCEPTED_VERSIONS, ALL_SCOPES
    from ghl_sms.sandbox._faults import FAULT_KINDS, FaultKind
    from ghl_sms.sandbox._sandbox import IN_PROCESS_BASE_URL, Reply, Sandbox, SandboxTransport
    from ghl_sms.sandbox._seed import (
        DEFAULT_NUMBER,
        DEMO_LOCATION_ID,
        DEMO_TOKEN,
        SEED_CONTACTS,
        UNREGISTERED_NUMBER,
        SeedContact,
    )
    from ghl_sms.sandbox._seed_agency import (
        AGENCY_COMPANY_ID,
        AGENCY_LOCATION_IDS,
        INSTALLED_LOCATION_IDS,
        OAUTH_APP,
        OAuthApp,
    )
    from ghl_sms.sandbox.app import create_app
    from ghl_sms.sandbox.carrier import MAGIC_SUFFIXES
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "ghl_sms.sandbox._auth": ("ACCEPTED_VERSIONS", "ALL_SCOPES"),
            "ghl_sms.sandbox._faults": ("FAULT_KINDS", "FaultKind"),
            "ghl_sms.sandbox._sandbox": (
                "IN_PROCESS_BASE_URL",
                "Reply",
                "Sandbox",
                "SandboxTransport",
            ),
            "ghl_sms.sandbox._seed": (
                "DEFAULT_NUMBER",
                "DEMO_LOCATION_ID",
                "DEMO_TOKEN",
                "SEED_CONTACTS",
                "UNREGISTERED_NUMBER",
                "SeedContact",
            ),
            "ghl_sms.sandbox._seed_agency": (
                "AGENCY_COMPANY_ID",
                "AGENCY_LOCATION_IDS",
                "INSTALLED_LOCATION_IDS",
                "OAUTH_APP",
                "OAuthApp",
            ),
            "ghl_sms.sandbox.app": ("create_app",),
            "ghl_sms.sandbox.carrier": ("MAGIC_SUFFIXES",),
        },
    )

__all__ = [
    "ACCEPTED_VERSIONS",
    "AGENCY_COMPANY_ID",
    "AGENCY_LOCATION_IDS",
    "ALL_SCOPES",
    "DEFAULT_NUMBER",
    "DEMO_LOCATION_ID",
    "DEMO_TOKEN",
    "FAULT_KINDS",
    "INSTALLED_LOCATION_IDS",
    "IN_PROCESS_BASE_URL",
    "MAGIC_SUFFIXES",
    "OAUTH_APP",
    "SEED_CONTACTS",
    "UNREGISTERED_NUMBER",
    "FaultKind",
    "OAuthApp",
    "Reply",
    "Sandbox",
    "SandboxTransport",
    "SeedContact",
    "create_app",
]
