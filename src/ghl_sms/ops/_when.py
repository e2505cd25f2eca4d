"""Parse when a message should go out: an ISO-8601 time with offset, or a duration."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

__all__ = ["MAX_AHEAD", "parse_when"]

MAX_AHEAD = timedelta(days=365)
"""How far ahead a message may be scheduled. GHL documents no limit; a year keeps a typo
such as ``9999999d`` from becoming a message nobody will remember to cancel."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_when(text: str, now: datetime) -> datetime:
    """``"2h"``, ``"1d2h30m"``, ``"in 45m"`` or ``"2026-12-01T09:30:00-05:00"``.

    Raises ValueError with a message that says what is accepted. A time without an offset
    is refused: "9:30" means different instants for the sender and the recipient.
    """
    raw = text.strip()
    candidate = raw.lower().removeprefix("in ").replace(" ", "")
    if candidate and _DURATION.sub("", candidate) == "" and _DURATION.search(candidate):
        seconds = sum(float(n) * _SECONDS[u.lower()] for n, u in _DURATION.findall(candidate))
        if seconds <= 0:
            raise ValueError(f"{_shown(text)} is not in the future; use e.g. 30m, 2h or 1d.")
        # Compared before building a timedelta: "9999999999d" would overflow it.
        if seconds > MAX_AHEAD.total_seconds():
            raise _too_far(text)
        return now + timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{_shown(text)} is not a time. Use a duration such as 30m, 2h or 1d2h, or an "
            "ISO-8601 time with an offset such as 2026-12-01T09:30:00-05:00."
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            f"{_shown(text)} has no UTC offset; add one (e.g. -05:00 or Z) so it means one instant."
        )
    try:
        too_far = when - now > MAX_AHEAD
    except OverflowError:  # year 9999 with a negative offset is past datetime's range
        too_far = True
    if too_far:
        raise _too_far(text)
    return when


def _too_far(text: str) -> ValueError:
    return ValueError(
        f"{_shown(text)} is too far ahead: ghl-sms schedules at most {MAX_AHEAD.days} days "
        "ahead. Use a duration such as 2h or 3d, or a time within the next year."
    )


def _shown(text: str) -> str:
    """The input as the user typed it, cut short if it is absurdly long."""
    return repr(text if len(text) <= 40 else text[:40] + "...")
