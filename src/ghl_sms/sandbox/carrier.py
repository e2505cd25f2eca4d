"""The simulated carrier: a pure, deterministic state machine.

``plan()`` decides, from the recipient and the sender alone, how a message will end;
``next_step()`` says what happens next and when. The engine stores the plan on the
message and applies the steps when the clock reaches them, so the same inputs always
give the same outcome and tests move time instead of waiting.

Lifecycle::

    scheduled --(scheduledTimestamp)--> pending --(1 s)--> sent --(2 s)--> delivered
                                           |                  `--(2 s)--> undelivered (code)
                                           `--(1 s)--> failed (code)

Rules, first match wins (documented for users in the sandbox README section):

1. recipient not a valid phone number                        failed 21211
2. recipient in a blocked country (IR, CU, KP, SY)           failed 21408
3. sender not a number of the location, or not SMS-capable   failed 21606
4. US recipient and a sender without A2P 10DLC registration  failed 30034
5. media and a sender without MMS                            failed 30011
6. recipient ``+1 NPA 555-01XX`` with XX in the table below  that outcome
7. anything else                                             delivered

A per-number override (``CarrierOverrides``: the console's phones, ``POST
/_sandbox/carrier``) replaces rules 6 and 7 for that recipient, and may hold its messages
``delay`` seconds longer before they are sent; rules 1-5 (a wrong number or sender) still win.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, cast

from ghl_sms.rules.phones import PhoneInfo, PhoneNumberError, parse_phone

__all__ = [
    "BLOCKED_REGIONS",
    "CarrierOverrides",
    "FINAL_AFTER",
    "MAGIC_SUFFIXES",
    "SENT_AFTER",
    "Outcome",
    "Override",
    "Sender",
    "next_step",
    "plan",
]

FinalStatus = Literal["delivered", "failed", "undelivered"]

SENT_AFTER = 1.0
"""Seconds from ``pending`` to ``sent`` (or to ``failed``)."""
FINAL_AFTER = 2.0
"""Seconds from ``sent`` to ``delivered`` or ``undelivered``."""

BLOCKED_REGIONS = frozenset({"IR", "CU", "KP", "SY"})


@dataclass(frozen=True, slots=True)
class Outcome:
    status: FinalStatus
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """What the carrier knows about the sending number (None: not the location's)."""

    sms: bool
    mms: bool
    a2p_registered: bool


# Last four digits of a +1 NPA-555-XXXX recipient -> outcome. The last two digits echo
# the error code's last two (0103 -> 30003, 0110 -> 21610, 0114 -> 21614).
MAGIC_SUFFIXES: dict[str, Outcome] = {
    "0103": Outcome("undelivered", "30003"),  # unreachable handset (auto-DND)
    "0104": Outcome("undelivered", "30004"),  # blocked by carrier/recipient (auto-DND)
    "0105": Outcome("undelivered", "30005"),  # unknown handset, not in service (auto-DND)
    "0106": Outcome("undelivered", "30006"),  # landline (auto-DND)
    "0107": Outcome("undelivered", "30007"),  # carrier filtering
    "0108": Outcome("undelivered", "30008"),  # unknown error
    "0110": Outcome("failed", "21610"),  # opted out at the carrier (replied STOP elsewhere)
    "0114": Outcome("failed", "21614"),  # not a mobile number
}
MMS_ONLY_SUFFIXES: dict[str, Outcome] = {
    "0111": Outcome("undelivered", "30011"),  # handset without MMS: text gets through
}

DELIVERED = Outcome("delivered")


@lru_cache(maxsize=4096)
def _parse(number: str) -> PhoneInfo | None:
    try:
        return parse_phone(number)
    except PhoneNumberError:
        return None


def plan(
    to_number: str, sender: Sender | None, *, has_media: bool, override: Outcome | None = None
) -> Outcome:
    """How a message to ``to_number`` from ``sender`` will end (``override``: the
    recipient's behaviour set by hand, in place of rules 6 and 7)."""
    info = _parse(to_number)
    if info is None:
        return Outcome("failed", "21211")
    if info.region in BLOCKED_REGIONS:
        return Outcome("failed", "21408")
    if sender is None or not sender.sms:
        return Outcome("failed", "21606")
    if info.region == "US" and not sender.a2p_registered:
        return Outcome("failed", "30034")
    if has_media and not sender.mms:
        return Outcome("failed", "30011")
    if override is not None:
        return override
    if info.e164.startswith("+1") and info.e164[5:8] == "555":
        suffix = info.e164[8:]
        if suffix in MAGIC_SUFFIXES:
            return MAGIC_SUFFIXES[suffix]
        if has_media and suffix in MMS_ONLY_SUFFIXES:
            return MMS_ONLY_SUFFIXES[suffix]
    return DELIVERED


def next_step(status: str, outcome: Outcome) -> tuple[float, str] | None:
    """(delay, next status) after ``status`` for a message planned to end as ``outcome``."""
    if status == "pending":
        return SENT_AFTER, ("failed" if outcome.status == "failed" else "sent")
    if status == "sent":
        return FINAL_AFTER, outcome.status
    return None


@dataclass(frozen=True, slots=True)
class Override:
    """How the carrier treats one recipient from now on."""

    outcome: Outcome
    delay: float = 0.0
    """Extra seconds before a message to it is sent (slow delivery)."""

    def as_json(self, phone: str) -> dict[str, object]:
        return {
            "phone": phone,
            "outcome": self.outcome.status,
            "code": self.outcome.code,
            "delay": self.delay,
        }


class CarrierOverrides:
    """Per-recipient behaviour switched by hand; kept in memory, cleared on reset."""

    def __init__(self) -> None:
        self._by_phone: dict[str, Override] = {}

    def set(
        self, phone: str, outcome: str, code: str | None = None, delay: float = 0.0
    ) -> Override:
        """``outcome``: delivered, failed or undelivered (``code`` required, digits)."""
        info = _parse(phone)
        if info is None:
            raise ValueError(f"{phone!r} is not a phone number; give one in E.164 (+14155550100)")
        if outcome not in ("delivered", "failed", "undelivered"):
            raise ValueError("outcome must be delivered, failed or undelivered")
        if outcome == "delivered":
            code = None
        elif not (isinstance(code, str) and code.isdigit() and len(code) <= 6):
            raise ValueError(f"a {outcome} outcome needs a carrier code, e.g. 30007")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
            raise ValueError("delay must be a number of seconds from 0 to 3600")
        found = Override(Outcome(cast(FinalStatus, outcome), code), float(delay))
        self._by_phone[info.e164] = found
        return found

    def get(self, phone: str) -> Override | None:
        return self._by_phone.get(phone)

    def clear(self, phone: str | None = None) -> None:
        if phone is None:
            self._by_phone.clear()
            return
        info = _parse(phone)
        self._by_phone.pop(info.e164 if info else phone, None)

    def as_json(self) -> list[dict[str, object]]:
        return [o.as_json(phone) for phone, o in sorted(self._by_phone.items())]
