"""A campaign's send window: the sender's own hours, on top of the legal quiet hours.

``SendWindow(time(9, 30), time(17, 0))`` means "text each recipient only between 09:30
and 17:00 in *their* local time, every day". It is the sender's choice, so unlike quiet
hours it applies to transactional messages too. For a marketing message the recipient's
allowed hours are the intersection of the legal window (``quiet_hours``) and this one,
the stricter on each day; for a transactional one, this window alone.

The recipient's local time is found exactly as for quiet hours (``recipient_time``:
the contact's zone, the number's zones, then the location's). Minute granularity; the
start is included and the end is not. A window that crosses midnight (``21:00-02:00``)
is refused: marketing texts can't be sent at night anyway, and two windows a day are
not modelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import time

from ghl_sms.rules.quiet_hours import RecipientTime, Window

__all__ = ["SEND_WINDOW_FORM", "SendWindow", "apply_send_window", "describe_hours"]

SEND_WINDOW_FORM = "HH:MM-HH:MM (24-hour, start before end, e.g. 09:30-17:00)"
"""How a send window is written, for error messages and help."""

_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SendWindow:
    """Daily hours, ``start <= local time < end``, in the recipient's local time."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if moment.tzinfo is not None:
                raise ValueError("a send window's times are local wall-clock times (no tzinfo)")
            if moment.second or moment.microsecond:
                raise ValueError("a send window is given to the minute")
        if self.start == self.end:
            raise ValueError(f"{self} is empty (it ends when it starts); write {SEND_WINDOW_FORM}")
        if self.start > self.end:
            raise ValueError(
                f"{self} ends before it starts: windows across midnight are not supported; "
                f"write {SEND_WINDOW_FORM}"
            )

    @classmethod
    def parse(cls, text: str) -> SendWindow:
        """``"09:30-17:00"`` -> ``SendWindow(time(9, 30), time(17, 0))``.

        Raises ``ValueError`` with a sentence that says what to write.
        """
        match = _PATTERN.match(text)
        if match is None:
            raise ValueError(f"{text.strip()!r} is not a send window; write {SEND_WINDOW_FORM}")
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sh > 23 or eh > 23 or sm > 59 or em > 59:
            raise ValueError(
                f"{text.strip()!r} is not a time of day (hours 00-23, minutes 00-59); "
                f"write {SEND_WINDOW_FORM}"
            )
        return cls(time(sh, sm), time(eh, em))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def window(self) -> Window:
        """The same hours every day, as a ``Window`` to intersect with the legal one."""
        return Window(f"send window {self}", ((self.start, self.end),) * 7)


def apply_send_window(
    recipient: RecipientTime, send_window: SendWindow | None, *, transactional: bool
) -> RecipientTime:
    """The recipient with the hours that apply to this message.

    Marketing: the legal window intersected with ``send_window`` (unchanged without one).
    Transactional: ``send_window`` alone (quiet hours don't apply); call it only with
    a window then.
    """
    if send_window is None:
        if transactional:
            raise ValueError("a transactional message has no hours to apply without a window")
        return recipient
    if transactional:
        return replace(recipient, window=send_window.window)
    return replace(recipient, window=recipient.window.intersect(send_window.window))


def describe_hours(
    recipient: RecipientTime, send_window: SendWindow | None, *, transactional: bool
) -> str:
    """The hours that apply, for a sentence: ``"09:30-17:00 every day: the send window
    09:30-17:00 within the legal hours"`` (``recipient`` as ``apply_send_window`` made it)."""
    hours = recipient.window.describe()
    if send_window is None:
        return hours
    within = "" if transactional else " within the legal hours"
    return f"{hours}: the send window {send_window}{within}"
