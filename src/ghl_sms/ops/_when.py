"""Parse when a message should go out: an ISO-8601 time with offset, or a duration."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

__all__ = ["parse_when"]

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
            raise ValueError(f"{text!r} is not in the future; use e.g. 30m, 2h or 1d.")
        return now + timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time. Use a duration such as 30m, 2h or 1d2h, or an "
            "ISO-8601 time with an offset such as 2026-12-01T09:30:00-05:00."
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            f"{text!r} has no UTC offset; add one (e.g. -05:00 or Z) so it means one instant."
        )
    return when
