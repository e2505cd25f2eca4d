"""The GHL OAuth scopes ghl-sms works with, named once. Imports nothing, so the CLI's
login and the sandbox (which imports nothing from ``ghl``) both take them from here."""

__all__ = ["AGENCY_SCOPES", "TEXTING_SCOPES"]

TEXTING_SCOPES = (
    "conversations.readonly",
    "conversations.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "contacts.readonly",
    "contacts.write",
    "phonenumbers.read",
    "locations.readonly",
)
"""What texting from a sub-account needs."""

AGENCY_SCOPES = ("oauth.readonly", "oauth.write")
"""What an agency app needs besides: ``oauth.write`` for ``/oauth/locationToken``,
``oauth.readonly`` for ``/oauth/installedLocations``. GHL grants them to the location
tokens it mints, too."""
