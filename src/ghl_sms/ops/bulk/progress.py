"""Time left, from the limits that apply rather than from the last minute's rate.

A campaign's remaining recipients need GHL requests (a lookup and a send each, one more
to create the contact of a new number) under the location's request budget, messages
under its carrier caps, and some wait for a moment of their own (quiet hours, a daily
cap, a retry). The time left is the longest of those: the slowest limit decides.
"""

from __future__ import annotations

import math

from ghl_sms.ghl import RateLimits
from ghl_sms.ops.bulk.models import Caps

__all__ = ["REQUESTS_PER_CONTACT", "REQUESTS_PER_NUMBER", "seconds_left"]

REQUESTS_PER_CONTACT = 2
"""A recipient given by contact id: read the contact, send."""
REQUESTS_PER_NUMBER = 3
"""A recipient given by number: find (or create) the contact, send."""

_DAY = 86_400.0


def seconds_left(
    caps: Caps,
    limits: RateLimits,
    *,
    remaining: int,
    requests: float,
    waiting_until: float | None,
    now: float,
) -> float:
    """Seconds until ``remaining`` recipients are done, needing ``requests`` requests."""
    if remaining <= 0:
        return 0.0
    per_second = limits.burst / (limits.window * (1 + limits.margin))
    seconds = requests / per_second
    per_minute = [c for c in (caps.per_minute, caps.number_per_minute) if c]
    if per_minute:
        seconds = max(seconds, remaining / min(per_minute) * 60.0)
    per_day = [c for c in (caps.per_day, caps.number_per_day) if c]
    if per_day and remaining > min(per_day):
        # Each further day's share goes after a midnight.
        seconds = max(seconds, (math.ceil(remaining / min(per_day)) - 1) * _DAY)
    if waiting_until is not None and waiting_until > now:
        seconds = max(seconds, waiting_until - now)
    return seconds
