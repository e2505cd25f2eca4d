"""What to do about an error: one actionable sentence for the CLI, the MCP server and docs."""

from __future__ import annotations

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

__all__ = ["hint_for"]

_MESSAGE_HINTS = {
    "dnd is active for sms": "The contact has SMS DND on; they must text START (or you must "
    "have proof of opt-in) before they can be texted.",
    "missing phone number": "The contact has no phone number; add one in GHL or text a number.",
    "not authorized for this scope": "The token lacks a scope this needs. In GHL: Settings > "
    "Private Integrations > edit the integration and enable conversations/message.write, "
    "conversations/message.readonly, conversations.readonly, contacts.readonly, "
    "contacts.write, phonenumbers.read and locations.readonly; then use the new token.",
    "does not have access to this location": "The token belongs to another sub-account. Use a "
    "Private Integration Token created in this sub-account, or fix GHL_LOCATION_ID.",
    "invalid jwt": "The token is malformed. Copy the whole Private Integration Token (pit-...).",
    "type must be a valid enum value": "GHL rejected a field value; this is a ghl-sms bug, "
    "please report it.",
}


def hint_for(error: BaseException) -> str | None:
    """A next step for a GHL error, or None when the message says it all."""
    if not isinstance(error, GhlError):
        return None
    text = " ".join(error.messages).lower()
    for fragment, hint in _MESSAGE_HINTS.items():
        if fragment in text:
            return hint
    if isinstance(error, ConfigError):
        return None
    if isinstance(error, SendOutcomeUnknownError):
        return (
            "The message may have gone out. Run the same send again: ghl-sms looks for it in "
            "the conversation first and only sends if it is not there."
        )
    if isinstance(error, AuthenticationError):
        return (
            "GHL refused the token. Check GHL_TOKEN (a Private Integration Token of this "
            "sub-account, or a fresh OAuth access token); `ghl-sms doctor` checks the setup."
        )
    if isinstance(error, PermissionDeniedError):
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
