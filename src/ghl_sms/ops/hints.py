"""What to do about an error: one actionable sentence for the CLI, the MCP server and docs.

A wrong token or location is fixed where they came from: GHL_TOKEN and GHL_LOCATION_ID,
or a profile of the config file. The library reads no environment, so the face that
shows the hint says which (``Credentials``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ghl_sms.ghl import (
    AuthenticationError,
    ConfigError,
    GhlError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    SendOutcomeUnknownError,
    ServerError,
    TransportError,
)

__all__ = ["Credentials", "hint_for"]


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """Where the sub-account's location id and token came from, for the hints that say
    what to fix."""

    profile: str | None = None
    """The config file's profile that gave them; None: GHL_LOCATION_ID and GHL_TOKEN."""
    pick: str = "--location"
    """How to choose another sub-account here: the CLI's ``--location``, or the MCP
    tools' ``location`` argument."""


_ENV = Credentials()
_ANOTHER_LOCATION = "does not have access to this location"

_MESSAGE_HINTS = {
    "dnd is active for sms": "The contact has SMS DND on; they must text START (or you must "
    "have proof of opt-in) before they can be texted.",
    "missing phone number": "The contact has no phone number; add one in GHL or text a number.",
    "not authorized for this scope": "The token lacks a scope this needs. In GHL: Settings > "
    "Private Integrations > edit the integration and enable conversations/message.write, "
    "conversations/message.readonly, conversations.readonly, contacts.readonly, "
    "contacts.write, phonenumbers.read and locations.readonly; then use the new token.",
    _ANOTHER_LOCATION: "The token belongs to another sub-account. Use a Private Integration "
    "Token created in this sub-account, or fix GHL_LOCATION_ID.",
    "invalid jwt": "The token is malformed. Copy the whole Private Integration Token (pit-...).",
    "type must be a valid enum value": "GHL rejected a field value; this is a ghl-sms bug, "
    "please report it.",
}


def hint_for(error: BaseException, credentials: Credentials | None = None) -> str | None:
    """A next step for a GHL error, or None when the message says it all.

    ``credentials``: where the token and location id came from (default: GHL_TOKEN and
    GHL_LOCATION_ID)."""
    if not isinstance(error, GhlError):
        return None
    where = credentials or _ENV
    text = " ".join(error.messages).lower()
    for fragment, hint in _MESSAGE_HINTS.items():
        if fragment in text:
            if fragment == _ANOTHER_LOCATION and where.profile is not None:
                return (
                    f"The token belongs to another sub-account than the location_id of "
                    f"profile {where.profile}. Fix that profile in the config file (its "
                    f"token or location_id; `ghl-sms locations` lists the profiles), or "
                    f"choose the sub-account you meant with {where.pick}."
                )
            return hint
    if isinstance(error, ConfigError):
        return None
    if isinstance(error, SendOutcomeUnknownError):
        return (
            "The message may have gone out. Run the same send again: ghl-sms looks for it in "
            "the conversation first and only sends if it is not there."
        )
    if isinstance(error, AuthenticationError):
        if where.profile is not None:
            return (
                f"GHL refused the token of profile {where.profile}. Check it (a Private "
                "Integration Token of that sub-account; `ghl-sms locations` shows where it is "
                "kept); `ghl-sms doctor` checks the setup."
            )
        return (
            "GHL refused the token. Check GHL_TOKEN (a Private Integration Token of this "
            "sub-account, or a fresh OAuth access token); `ghl-sms doctor` checks the setup."
        )
    if isinstance(error, PermissionDeniedError):
        if where.profile is not None:
            return (
                "The token may not act on this resource; check the location_id and token of "
                f"profile {where.profile} (`ghl-sms locations`), or choose another "
                f"sub-account with {where.pick}."
            )
        return "The token may not act on this resource; check GHL_LOCATION_ID and the token."
    if isinstance(error, NotFoundError):
        return "Check the id; it may belong to another location or no longer exist."
    if isinstance(error, RateLimitError):
        if error.daily_exhausted:
            return "GHL's daily limit (200,000 requests) is used up; try again tomorrow."
        return "GHL's rate limit was hit; wait a few seconds and try again."
    if isinstance(error, InvalidRequestError):
        return "GHL refused the request as invalid; fix what the message names and retry."
    if isinstance(error, ServerError):
        return "GHL failed on its side; try again in a minute."
    if isinstance(error, RequestTimeout | TransportError):
        return "GHL could not be reached; check the network (or GHL_BASE_URL) and retry."
    return None
