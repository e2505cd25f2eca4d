"""Phone numbers: parse to E.164 and say what we know about a number offline.

Uses the full ``phonenumbers`` package (not the lite one: we need its time-zone data).
US and Canadian numbers are always ``FIXED_LINE_OR_MOBILE`` offline, so a landline can
only be told apart by a live lookup; we catch invalid, toll-free and premium numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

__all__ = ["PhoneInfo", "PhoneNumberError", "looks_like_phone", "parse_phone", "to_e164"]

DEFAULT_REGION = "US"

_LINE_TYPES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


class PhoneNumberError(ValueError):
    """A phone number that cannot be used; ``reason`` is machine-readable."""

    def __init__(self, raw: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.raw = raw
        self.reason = reason  # "unparseable" | "invalid"


@dataclass(frozen=True)
class PhoneInfo:
    """A valid number in E.164 with its region and candidate time zones."""

    e164: str
    region: str | None
    line_type: str
    time_zones: tuple[str, ...]
    """IANA zones the number's prefix maps to; empty when unknown. A toll-free number
    maps to every zone of its country code, which tells us nothing, so it is empty too."""

    @property
    def is_toll_free(self) -> bool:
        return self.line_type == "toll_free"

    @property
    def area_code(self) -> str | None:
        """The NANP area code (NPA) of a +1 number, else None."""
        if self.e164.startswith("+1") and len(self.e164) == 12:
            return self.e164[2:5]
        return None


# phonenumbers' own texts ("(1) The string supplied did not seem to be ...") in plain words.
_PARSE_PROBLEMS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "no valid country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "it does not look like a number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def parse_phone(raw: str, default_region: str = DEFAULT_REGION) -> PhoneInfo:
    """Parse ``raw`` (any common format) into a valid number, or raise PhoneNumberError.

    ``is_valid_number`` decides, not ``is_possible_number``: a bare 7-digit local number
    is "possible" yet cannot be texted.
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError(raw, "unparseable", "The phone number is empty.")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        problem = _PARSE_PROBLEMS.get(exc.error_type, "unreadable")
        raise PhoneNumberError(
            raw,
            "unparseable",
            f"{text!r} is not a phone number ({problem}); use E.164 form such as +15551234567.",
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError(
            raw,
            "invalid",
            f"{text!r} is not a valid phone number; use E.164 form such as +15551234567.",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    line_type = _LINE_TYPES.get(phonenumbers.number_type(number), "unknown")
    zones = tuple(z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    if line_type == "toll_free" or len(zones) > 10:
        zones = ()  # a country-wide list is no signal (toll-free maps to 42 zones)
    return PhoneInfo(
        e164=e164,
        region=phonenumbers.region_code_for_number(number),
        line_type=line_type,
        time_zones=zones,
    )


def to_e164(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of ``raw``, or None when it is not a valid number."""
    try:
        return parse_phone(raw, default_region).e164
    except PhoneNumberError:
        return None


# Digits with the punctuation people write numbers with; no letters (GHL ids have them).
_PHONE_SHAPED = re.compile(r"(?:tel:)?\+?[\d\s().\-]+")


def looks_like_phone(value: str | None) -> bool:
    """Whether ``value`` is clearly a phone number rather than an id or a name.

    Shape only, no validity check: ``+1 (415) 555-0102`` and ``4155550102`` are, a GHL
    contact id (20 letters and digits) is not. Used to say "use --to" instead of "no
    such contact" when a number is passed where a contact id belongs.
    """
    text = (value or "").strip()
    if not _PHONE_SHAPED.fullmatch(text):
        return False
    digits = sum(c.isdigit() for c in text)
    return 7 <= digits <= 15  # E.164 allows at most 15 digits
