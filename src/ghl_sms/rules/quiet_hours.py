"""Quiet hours: when a marketing text may reach a recipient (sms-rules §4).

The federal window is 08:00-21:00 at the recipient's location (47 CFR 64.1200(c)(1));
several states are stricter (``STATE_WINDOWS``). The recipient's local time comes from,
in order:

1. the contact's IANA ``timezone``;
2. the time zones of the number's prefix: with several, the instant must be inside the
   window in **every** one of them;
3. the location's zone, and then the conservative unknown-state window applies too.

The state rules that apply are the union of the contact's address state and the state of
the number's area code; the strictest wins (their intersection). Times are computed with
``zoneinfo`` at the instant given, so DST is handled per zone; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ghl_sms.rules.area_codes import US_JURISDICTIONS, normalize_state, state_for_area_code
from ghl_sms.rules.phones import PhoneInfo

__all__ = [
    "FEDERAL_WINDOW",
    "STATE_WINDOWS",
    "UNKNOWN_STATE_WINDOW",
    "QuietHoursCheck",
    "RecipientTime",
    "Window",
    "ZoneSource",
    "allowed_at",
    "check_quiet_hours",
    "is_valid_zone",
    "next_allowed",
    "recipient_time",
]

Interval = tuple[time, time]
ZoneSource = Literal["contact", "number", "location"]
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Window:
    """A weekly sending window in the recipient's local time.

    ``days[0]`` is Monday; ``None`` means no sending that day. A time is allowed when
    ``start <= local time < end``.
    """

    name: str
    days: tuple[Interval | None, ...]
    no_holidays: bool = False
    """No sending on the holidays the caller passes (the rules don't know calendars)."""

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("a window has one entry per weekday, Monday first")

    @classmethod
    def build(
        cls,
        name: str,
        weekdays: tuple[int, int] | None,
        saturday: tuple[int, int] | None = None,
        sunday: tuple[int, int] | None = None,
        *,
        no_holidays: bool = False,
    ) -> Window:
        """Whole hours: ``Window.build("TX", (9, 21), (9, 21), (12, 21))``."""

        def hours(pair: tuple[int, int] | None) -> Interval | None:
            return None if pair is None else (time(pair[0]), time(pair[1]))

        return cls(
            name,
            (hours(weekdays),) * 5 + (hours(saturday), hours(sunday)),
            no_holidays=no_holidays,
        )

    def allows(self, local: datetime, holidays: Collection[date] = ()) -> bool:
        """Whether the local wall-clock time ``local`` is inside the window."""
        if self.no_holidays and local.date() in holidays:
            return False
        interval = self.days[local.weekday()]
        if interval is None:
            return False
        return interval[0] <= local.time().replace(tzinfo=None) < interval[1]

    def intersect(self, other: Window) -> Window:
        """The strictest combination: allowed only when both windows allow it."""
        if other is self:
            return self
        days: list[Interval | None] = []
        for mine, theirs in zip(self.days, other.days, strict=True):
            if mine is None or theirs is None:
                days.append(None)
                continue
            start, end = max(mine[0], theirs[0]), min(mine[1], theirs[1])
            days.append((start, end) if start < end else None)
        return Window(
            f"{self.name} + {other.name}",
            tuple(days),
            no_holidays=self.no_holidays or other.no_holidays,
        )

    def describe(self) -> str:
        """``"08:00-20:00 every day"``, ``"Mon-Sat 09:00-21:00, Sun 12:00-21:00"``."""
        runs: list[tuple[int, int, Interval | None]] = []
        for i, interval in enumerate(self.days):
            if runs and runs[-1][2] == interval:
                runs[-1] = (runs[-1][0], i, interval)
            else:
                runs.append((i, i, interval))
        if len(runs) == 1 and runs[0][2] is not None:
            text = f"{_hours(runs[0][2])} every day"
        else:
            parts = []
            for first, last, interval in runs:
                days = _DAY_NAMES[first]
                if last != first:
                    days += f"-{_DAY_NAMES[last]}"
                parts.append(f"{days} {_hours(interval) if interval else 'none'}")
            text = ", ".join(parts)
        return text + (", not on holidays" if self.no_holidays else "")


def _hours(interval: Interval) -> str:
    return f"{interval[0]:%H:%M}-{interval[1]:%H:%M}"


FEDERAL_WINDOW = Window.build("federal", (8, 21), (8, 21), (8, 21))

# sms-rules §4.2. Where sources conflict (Connecticut), the stricter reading is used.
# New Jersey's 08:00-20:00 is from one unverified source; it is kept because it is
# stricter. Pennsylvania's reported Sunday restriction has no stated hours: federal.
STATE_WINDOWS: Mapping[str, Window] = MappingProxyType(
    {
        "FL": Window.build("FL", (8, 20), (8, 20), (8, 20)),
        "OK": Window.build("OK", (8, 20), (8, 20), (8, 20)),
        "MD": Window.build("MD", (8, 20), (8, 20), (8, 20)),
        "WA": Window.build("WA", (8, 20), (8, 20), (8, 20)),
        "TX": Window.build("TX", (9, 21), (9, 21), (12, 21)),
        "CT": Window.build("CT", (9, 20), (9, 20), (9, 20)),
        "AL": Window.build("AL", (8, 20), (8, 20), None, no_holidays=True),
        # Louisiana also bans calls during declared emergencies; not modelled.
        "LA": Window.build("LA", (8, 20), (8, 20), None, no_holidays=True),
        "MS": Window.build("MS", (8, 20), (8, 20), None, no_holidays=True),
        "MA": Window.build("MA", (8, 20), (8, 20), (8, 20)),
        "RI": Window.build("RI", (9, 18), (10, 17), None, no_holidays=True),
        "KY": Window.build("KY", (10, 21), (10, 21), (10, 21)),
        "MI": Window.build("MI", (9, 21), (9, 21), (9, 21)),
        "MN": Window.build("MN", (9, 21), (9, 21), (9, 21)),
        "NM": Window.build("NM", (9, 21), (9, 21), (9, 21)),
        "NV": Window.build("NV", (9, 20), (9, 20), (9, 20)),
        "UT": Window.build("UT", (8, 21), (8, 21), (8, 21), no_holidays=True),
        "NJ": Window.build("NJ", (8, 20), (8, 20), (8, 20)),
    }
)

UNKNOWN_STATE_WINDOW = Window.build("unknown state", (9, 20), (9, 20), None)
"""The recommended policy when the state is unknown (sms-rules §4.2): the intersection of
every row would forbid too much, federal alone too little."""

_US_COUNTRY_NAMES = frozenset(
    {"US", "USA", "U S", "U S A", "UNITED STATES", "UNITED STATES OF AMERICA"}
)


@lru_cache(maxsize=512)
def is_valid_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this system knows (``"America/Chicago"``)."""
    if not name or name.startswith("Etc/Unknown"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class RecipientTime:
    """Where the recipient's clock comes from and which window applies to them."""

    zones: tuple[str, ...]
    """Every candidate zone; the window must hold in all of them. Empty when unknown."""
    zone_source: ZoneSource | None
    states: tuple[str, ...]
    """US states and territories whose rules apply (address and area code)."""
    window: Window
    ignored_timezones: tuple[str, ...] = ()
    """Zone names we were given but could not use (misspelt, not IANA)."""


def _is_us_country(country: str | None) -> bool:
    if not country:
        return True  # GHL leaves it empty for most US contacts
    text = " ".join(country.replace(".", " ").upper().split())
    return text in _US_COUNTRY_NAMES or text in US_JURISDICTIONS


def recipient_time(
    *,
    contact_timezone: str | None = None,
    contact_state: str | None = None,
    contact_country: str | None = None,
    phone: PhoneInfo | None = None,
    location_timezone: str | None = None,
) -> RecipientTime:
    """Pick the recipient's candidate zones and sending window (sms-rules §4.3)."""
    ignored: list[str] = []
    zones: tuple[str, ...] = ()
    source: ZoneSource | None = None
    if is_valid_zone(contact_timezone):
        zones, source = (contact_timezone or "",), "contact"
    else:
        if contact_timezone:
            ignored.append(contact_timezone)
        number_zones = tuple(z for z in (phone.time_zones if phone else ()) if is_valid_zone(z))
        if number_zones:
            zones, source = number_zones, "number"
        elif is_valid_zone(location_timezone):
            zones, source = (location_timezone or "",), "location"
        elif location_timezone:
            ignored.append(location_timezone)

    states: list[str] = []
    address_state = normalize_state(contact_state) if _is_us_country(contact_country) else None
    if address_state:
        states.append(address_state)
    number_state = state_for_area_code(phone.area_code) if phone else None
    if number_state and number_state not in states:
        states.append(number_state)

    if states:
        # Every state row lies inside the federal window; a state without a row gets it.
        rows = [STATE_WINDOWS.get(state, FEDERAL_WINDOW) for state in states]
        window = rows[0]
        for row in rows[1:]:
            window = window.intersect(row)
    elif phone is not None and phone.region not in US_JURISDICTIONS and not phone.is_toll_free:
        # Not a US recipient: no US state rule can apply; the federal hours are the floor.
        window = FEDERAL_WINDOW
    else:
        window = UNKNOWN_STATE_WINDOW
    if source == "location":
        # We only know the business's zone, not the recipient's: be conservative.
        window = window.intersect(UNKNOWN_STATE_WINDOW)
    return RecipientTime(zones, source, tuple(states), window, tuple(ignored))


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be an aware datetime (e.g. tzinfo=UTC)")


def _local_times(instant: datetime, zones: Iterable[str]) -> tuple[datetime, ...]:
    return tuple(instant.astimezone(ZoneInfo(zone)) for zone in zones)


def allowed_at(
    instant: datetime,
    zones: Sequence[str],
    window: Window,
    *,
    holidays: Collection[date] = (),
) -> bool:
    """Whether ``instant`` is inside ``window`` in every one of ``zones``.

    With no zone at all the answer is False: an unknown local time is never "allowed".
    """
    _require_aware(instant)
    if not zones:
        return False
    return all(window.allows(local, holidays) for local in _local_times(instant, zones))


def next_allowed(
    instant: datetime,
    zones: Sequence[str],
    window: Window,
    *,
    holidays: Collection[date] = (),
    horizon_days: int = 31,
) -> datetime | None:
    """The first moment at or after ``instant`` allowed in every zone (in UTC).

    ``instant`` itself when it is already allowed; None when nothing within
    ``horizon_days`` is (an empty window, or zones whose windows never overlap).
    """
    _require_aware(instant)
    if not zones:
        return None
    if allowed_at(instant, zones, window, holidays=holidays):
        return instant.astimezone(UTC)
    # The allowed set is an intersection of intervals, so its earliest point after
    # ``instant`` is the opening of some zone's window: try those in order.
    candidates: set[datetime] = set()
    for zone in zones:
        tz = ZoneInfo(zone)
        first_day = instant.astimezone(tz).date()
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            interval = window.days[day.weekday()]
            if interval is None:
                continue
            opening = datetime.combine(day, interval[0], tzinfo=tz).astimezone(UTC)
            if opening > instant:
                candidates.add(opening)
    for candidate in sorted(candidates):
        if allowed_at(candidate, zones, window, holidays=holidays):
            return candidate
    return None


@dataclass(frozen=True)
class QuietHoursCheck:
    """The answer for one recipient at one instant."""

    allowed: bool | None
    """None when the recipient's local time cannot be known (no usable zone)."""
    next_allowed_at: datetime | None
    """The instant itself when allowed; the next opening otherwise (UTC)."""
    local_times: tuple[datetime, ...]
    """The instant in each candidate zone."""
    recipient: RecipientTime

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "next_allowed_at": _iso(self.next_allowed_at),
            "local_times": [_iso(t) for t in self.local_times],
            "zones": list(self.recipient.zones),
            "zone_source": self.recipient.zone_source,
            "states": list(self.recipient.states),
            "window": self.recipient.window.describe(),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def check_quiet_hours(
    instant: datetime,
    recipient: RecipientTime,
    *,
    holidays: Collection[date] = (),
) -> QuietHoursCheck:
    """``allowed_at`` and ``next_allowed`` together, for a resolved recipient."""
    _require_aware(instant)
    if not recipient.zones:
        return QuietHoursCheck(None, None, (), recipient)
    window, zones = recipient.window, recipient.zones
    return QuietHoursCheck(
        allowed=allowed_at(instant, zones, window, holidays=holidays),
        next_allowed_at=next_allowed(instant, zones, window, holidays=holidays),
        local_times=_local_times(instant, zones),
        recipient=recipient,
    )
