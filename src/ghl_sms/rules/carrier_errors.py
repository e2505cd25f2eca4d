"""Carrier and provider error codes on failed or undelivered messages.

Twilio-style codes, as GHL's LC Phone shows them (sms-rules §5.3): what each means,
whether retrying can help, and what to tell the user. The sandbox's simulated carrier
fails messages with these codes and titles; the operations explain them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AUTO_DND_CODES",
    "OPT_OUT_CODES",
    "CarrierError",
    "Retry",
    "explain_error_code",
    "lookup",
]


class Retry(StrEnum):
    NEVER = "never"
    LATER = "later"  # the same message may succeed later (capped)
    NEXT_DAY = "next_day"
    AFTER_FIX = "after_fix"  # only once the sender, number or content is fixed


@dataclass(frozen=True)
class CarrierError:
    code: str
    title: str
    meaning: str
    retry: Retry
    advice: str
    """What to tell the user, in one sentence."""


_TABLE = [
    CarrierError("21211", "Invalid 'To' Phone Number", "not E.164, malformed, or a short code",
                 Retry.NEVER, "The number is invalid; fix it on the contact."),
    CarrierError("21408", "Permission to send an SMS has not been enabled for the region",
                 "geo permission off for the destination country", Retry.AFTER_FIX,
                 "Sending to this country is not enabled for the account."),
    CarrierError("21606", "The 'From' phone number provided is not a valid message-capable "
                 "phone number", "wrong sender", Retry.AFTER_FIX,
                 "The sending number can't send SMS to this destination; choose another sender."),
    CarrierError("21610", "Attempt to send to unsubscribed recipient", "STOP or DND",
                 Retry.NEVER,
                 "The contact has opted out; they must text START to receive messages."),
    CarrierError("21612", "Cannot send with this To/From combination",
                 "routing or sender-ID restriction", Retry.AFTER_FIX,
                 "This sender can't reach this number."),
    CarrierError("21614", "'To' number is not a valid mobile number", "landline or invalid",
                 Retry.NEVER, "The number can't receive SMS (landline or invalid)."),
    CarrierError("21623", "Number of media files exceeds allowed limit", "more than 10 media",
                 Retry.AFTER_FIX, "At most 10 attachments per MMS."),
    CarrierError("21635", "The 'To' number is a landline",
                 "number validation found a landline", Retry.NEVER, "The number is a landline."),
    CarrierError("21661", "From number is not SMS-capable", "wrong sender", Retry.AFTER_FIX,
                 "The sending number can't send SMS to this destination; choose another sender."),
    CarrierError("30002", "Account suspended", "funds or policy", Retry.NEVER,
                 "The messaging account is suspended; contact the agency."),
    CarrierError("30003", "Unreachable destination handset",
                 "phone off, no signal or roaming", Retry.LATER,
                 "The phone was unreachable; try again later."),
    CarrierError("30004", "Message blocked", "recipient has opted out or has DND enabled",
                 Retry.NEVER, "The recipient or their carrier blocked the message."),
    CarrierError("30005", "Unknown destination handset",
                 "inactive, out of service or non-existent", Retry.NEVER,
                 "The number is not in service."),
    CarrierError("30006", "Landline or unreachable carrier",
                 "landline, or the carrier can't be reached", Retry.NEVER,
                 "The number can't receive SMS."),
    CarrierError("30007", "Message filtered", "spam or content filter", Retry.AFTER_FIX,
                 "The carrier filtered the message as spam; revise the content."),
    CarrierError("30008", "Unknown error", "the carrier gave no reason", Retry.LATER,
                 "Delivery failed for an unknown reason; one retry later may succeed."),
    CarrierError("30011", "MMS not supported", "the handset or route lacks MMS",
                 Retry.AFTER_FIX, "The phone can't receive MMS; send a link instead."),
    CarrierError("30019", "Content size exceeds carrier limit", "body or media too large",
                 Retry.AFTER_FIX, "The message or media is too large."),
    CarrierError("30022", "US A2P 10DLC - Rate Limits Exceeded", "over the campaign's MPS",
                 Retry.LATER, "Sending too fast; slow down and retry."),
    CarrierError("30023", "US A2P 10DLC - Daily Message Cap Reached", "brand daily cap (T-Mobile)",
                 Retry.NEXT_DAY, "Daily carrier cap reached; sending resumes tomorrow."),
    CarrierError("30024", "Numeric Sender ID Not Provisioned on Carrier",
                 "registration or port still propagating", Retry.LATER,
                 "The sending number is still being provisioned."),
    CarrierError("30032", "Toll-Free Number Has Not Been Verified",
                 "toll-free verification missing or rejected", Retry.AFTER_FIX,
                 "The toll-free number must be verified first."),
    CarrierError("30033", "US A2P 10DLC - Campaign Suspended", "carrier or TCR suspension",
                 Retry.AFTER_FIX, "The A2P campaign is suspended; contact the agency."),
    CarrierError("30034", "US A2P 10DLC - Message from an Unregistered Number",
                 "no approved A2P campaign for the sending number", Retry.AFTER_FIX,
                 "The sending number has no approved A2P registration; register it in "
                 "Settings > Phone Numbers > Trust Center, or send from a registered number."),
    CarrierError("30035", "Number not fully registered", "provisioning, up to 24 h",
                 Retry.LATER, "Registration is finishing; wait up to 24 h."),
    CarrierError("30037", "Outbound messaging disabled", "account setting", Retry.AFTER_FIX,
                 "Outbound messaging is disabled for the account."),
    CarrierError("30110", "Domain is blocked", "a link's domain is on the blocklist",
                 Retry.AFTER_FIX, "A link in the message is blocked; use a different URL."),
    CarrierError("30450", "Message delivery blocked", "SMS pumping protection", Retry.LATER,
                 "Temporarily blocked; retry in 30 minutes."),
    CarrierError("63034", "Media exceeds size limit", "media over 5 MB", Retry.AFTER_FIX,
                 "Media over 5 MB."),
    CarrierError("11751", "Media too large", "oversize media for MMS", Retry.AFTER_FIX,
                 "Media too large for MMS."),
]  # fmt: skip

_BY_CODE = {entry.code: entry for entry in _TABLE}

# Failures after which GHL switches SMS DND on for the contact by itself.
AUTO_DND_CODES = frozenset({"30003", "30004", "30005", "30006"})

# Failures that mean "this recipient unsubscribed" even when GHL shows no DND: never text
# them again until they opt back in.
OPT_OUT_CODES = frozenset({"21610"})


def lookup(code: str | int | None) -> CarrierError | None:
    """The table entry for ``code`` (``"30034"``, ``30034``), or None if unknown."""
    if code is None:
        return None
    return _BY_CODE.get(str(code).strip())


def explain_error_code(code: str | int | None) -> str:
    """One plain sentence for a user, even for codes we do not know."""
    entry = lookup(code)
    if entry is not None:
        return f"{entry.title} ({entry.code}): {entry.advice}"
    if code is None:
        return "The message failed without an error code."
    return f"The carrier returned error {code}; look it up in GHL's error code dictionary."
