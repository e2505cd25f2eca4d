"""Message body limits and the text GHL appends (sms-rules §1.7-1.8).

GHL and Twilio accept at most 1,600 characters. GHL is a JavaScript service, whose
string length is in UTF-16 code units, so that is how we measure: an emoji counts 2,
which can only make us stricter than the server, never looser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ghl_sms.rules.segments import SegmentReport, count_segments, utf16_length

__all__ = [
    "GHL_OPT_OUT_TEXT",
    "GHL_SENDER_TEMPLATE",
    "MAX_SMS_LENGTH",
    "RECOMMENDED_MAX_LENGTH",
    "TextProblem",
    "check_text",
    "estimate_with_footer",
    "ghl_footer",
    "has_opt_out_language",
    "message_length",
]

MAX_SMS_LENGTH = 1600
RECOMMENDED_MAX_LENGTH = 320  # Twilio's deliverability advice

GHL_OPT_OUT_TEXT = "Reply STOP to unsubscribe"
GHL_SENDER_TEMPLATE = "Thanks, {name} at {business}"
# Placeholders of a typical length for when the caller doesn't know the names GHL uses
# (GHL's own "[YourName]" would overcount: a bracket costs two septets).
_NAME_PLACEHOLDER = "YourName"
_BUSINESS_PLACEHOLDER = "YourBusiness"

_OPT_OUT_LANGUAGE = re.compile(
    r"\b(?:reply|text|txt|send|respond\s+with)\W{0,3}\s*[\"'“‘]?stop\b"
    r"|\bstop\W{0,3}\s*(?:to\s+)?(?:unsubscribe|opt[\s-]?out|end|cancel|quit)\b",
    re.IGNORECASE,
)


def message_length(text: str) -> int:
    """Length as the 1,600 limit counts it (UTF-16 code units)."""
    return utf16_length(text)


@dataclass(frozen=True)
class TextProblem:
    code: Literal["empty", "too_long"]
    message: str
    length: int
    limit: int


def check_text(
    text: str, *, has_attachments: bool = False, limit: int = MAX_SMS_LENGTH
) -> TextProblem | None:
    """Why ``text`` can't be sent as a message body, or None.

    Blank text is refused unless media goes with it (an MMS may carry no words).
    """
    length = message_length(text)
    if not text.strip() and not has_attachments:
        return TextProblem(
            "empty", "The message is empty; write some text or attach media.", length, limit
        )
    if length > limit:
        return TextProblem(
            "too_long",
            f"The message is {length:,} characters; the limit is {limit:,}. "
            "Shorten it or send it as several messages.",
            length,
            limit,
        )
    return None


def has_opt_out_language(text: str) -> bool:
    """Whether ``text`` already tells the reader how to opt out ("Reply STOP to ...")."""
    return _OPT_OUT_LANGUAGE.search(text) is not None


def ghl_footer(
    text: str, *, sender_name: str | None = None, business_name: str | None = None
) -> str:
    """What GHL appends to the first message of a conversation, as an estimate.

    Opt-out language and sender information (GHL help 155000004685), each left out when
    the text already contains it. The exact layout isn't documented; we assume one line
    each, which is what the GHL UI shows. Returns ``""`` when nothing would be added.
    """
    lines = []
    business_known = bool(business_name and business_name.casefold() in text.casefold())
    if not business_known:
        lines.append(
            GHL_SENDER_TEMPLATE.format(
                name=sender_name or _NAME_PLACEHOLDER,
                business=business_name or _BUSINESS_PLACEHOLDER,
            )
        )
    if not has_opt_out_language(text):
        lines.append(GHL_OPT_OUT_TEXT)
    return "".join("\n" + line for line in lines)


def estimate_with_footer(
    text: str, *, sender_name: str | None = None, business_name: str | None = None
) -> SegmentReport:
    """The segment count of ``text`` once GHL has appended its first-message footer."""
    return count_segments(
        text + ghl_footer(text, sender_name=sender_name, business_name=business_name)
    )
