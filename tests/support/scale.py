"""The scale-out scenario and its assertions, shared by the PostgreSQL (worker processes)
and the embedded SQLite (one process, killed and resumed) tests.

Each location gets a CSV of its contacts plus ineligible rows: DND contacts, numbers
opted out locally, and invalid numbers. After the run:

- exactly one outbound message per eligible recipient, none to an ineligible one;
- none to a recipient outside the campaign's send window before it opens for them, while
  others were texted before then;
- no 429 in the sandbox's arrival log, and in no sliding window of ``window`` seconds
  more than ``burst`` requests of one location; no more than its cap (``per_minute``)
  messages of a capped sending number in any 60 s.
"""

from __future__ import annotations

import bisect
import json
import math
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

INVALID = ["+1555", "12"]
"""Numbers the import refuses (skipped as invalid)."""


@dataclass(frozen=True)
class Opening:
    """A send window that opens at ``at`` (a minute boundary) for contacts in ``late_zone``
    and is already open for contacts in ``zone``, an hour ahead of it."""

    at: float
    window: str
    zone: str
    late_zone: str


def _etc_zone(hours_ahead_of_utc: int) -> str:
    # POSIX-style names: Etc/GMT-5 is five hours *ahead* of UTC.
    return f"Etc/GMT{-hours_ahead_of_utc:+d}" if hours_ahead_of_utc else "Etc/GMT"


def window_opening(earliest: float) -> Opening:
    """The first minute boundary at or after ``earliest``, as 09:MM in a whole-hour zone
    (whatever the hour in UTC), and the window 09:MM-12:00 that opens then."""
    at = math.ceil(earliest / 60) * 60
    moment = datetime.fromtimestamp(at, UTC)
    offset = (9 - moment.hour) % 24
    if offset > 11:
        offset -= 24  # Etc zones run from 12 hours behind UTC to 14 ahead
    window = f"09:{moment.minute:02d}-12:00"
    return Opening(float(at), window, _etc_zone(offset + 1), _etc_zone(offset))


@dataclass
class Scenario:
    info: dict[str, Any]
    csvs: dict[str, Path]
    eligible: dict[str, set[str]]
    opted_out: dict[str, list[str]]

    @property
    def ineligible(self) -> set[str]:
        found = set(self.info["dnd"])
        for phones in self.opted_out.values():
            found.update(phones)
        return found


def build(info: dict[str, Any], folder: Path, opt_outs: int = 2) -> Scenario:
    dnd = set(info["dnd"])
    csvs: dict[str, Path] = {}
    eligible: dict[str, set[str]] = {}
    opted: dict[str, list[str]] = {}
    zones: dict[str, str] = info.get("zones") or {}
    for location_id, phones in info["phones"].items():
        path = folder / f"{location_id}.csv"
        if zones:  # the rows carry the contacts' zones, as an export from GHL would
            rows = ["phone,first_name,timezone",
                    *(f"{p},Pat{i},{zones[p]}" for i, p in enumerate(phones))]  # fmt: skip
            rows += [f"{bad},Nobody," for bad in INVALID]
        else:
            rows = ["phone,first_name", *(f"{p},Pat{i}" for i, p in enumerate(phones))]
            rows += [f"{bad},Nobody" for bad in INVALID]
        path.write_text("\n".join(rows) + "\n")
        csvs[location_id] = path
        candidates = [p for p in phones if p not in dnd]
        opted[location_id] = candidates[-opt_outs:]
        eligible[location_id] = set(candidates[:-opt_outs])
    return Scenario(info, csvs, eligible, opted)


def arrivals(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_scale/log", timeout=10) as response:
        found: list[dict[str, Any]] = json.loads(response.read())
        return found


def outbound(url: str) -> list[tuple[str, str, str, float]]:
    """(location, to number, from number, date_added) of every outbound message."""
    with urllib.request.urlopen(f"{url}/_scale/messages", timeout=10) as response:
        rows = json.loads(response.read())
    return [(str(a), str(b), str(c or ""), float(d)) for a, b, c, d in rows]


def max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, bisect.bisect_left(ordered, start + window) - i)
    return best


def check(
    scenario: Scenario,
    *,
    burst: int,
    window: float,
    per_minute: dict[str, int] | None = None,
    extra: dict[str, set[str]] | None = None,
    late_after: float | None = None,
) -> dict[str, Any]:
    """Assert the outcome; return figures for the test's message."""
    messages = outbound(scenario.info["url"])
    to = Counter((loc, phone) for loc, phone, _, _ in messages)
    twice = {key: n for key, n in to.items() if n > 1}
    assert not twice, f"texted more than once: {twice}"
    for location_id, phones in scenario.eligible.items():
        wanted = phones | (extra or {}).get(location_id, set())
        got = {phone for loc, phone in to if loc == location_id}
        assert got == wanted, (
            f"{location_id}: missing {sorted(wanted - got)[:5]}, "
            f"unexpected {sorted(got - wanted)[:5]}"
        )
    texted = {phone for _, phone in to}
    assert not (texted & scenario.ineligible), sorted(texted & scenario.ineligible)
    if late_after is not None:
        late = set(scenario.info["late"])
        early = sorted((at, phone) for _, phone, _, at in messages if phone in late)[:1]
        assert early and early[0][0] >= late_after, (
            f"texted outside the send window: {early} before {late_after}"
        )
        others = [at for _, phone, _, at in messages if phone not in late]
        assert min(others) < late_after, "nobody was texted before the window opened for some"
    log = arrivals(scenario.info["url"])
    statuses = Counter(entry["status"] for entry in log)
    assert statuses[429] == 0, f"{statuses[429]} requests got 429"
    by_location: dict[str, list[float]] = defaultdict(list)
    for entry in log:
        by_location[entry["location"]].append(entry["at"])
    worst = {loc: max_in_window(times, window) for loc, times in by_location.items()}
    assert max(worst.values()) <= burst, f"over {burst} per {window}s: {worst}"
    by_number: dict[str, list[float]] = defaultdict(list)
    for _, _, number, at in messages:
        by_number[number].append(at)
    numbers = {n: max_in_window(t, 60.0) for n, t in by_number.items()}
    for number, cap in (per_minute or {}).items():
        assert numbers[number] <= cap, f"{number}: {numbers[number]} messages in 60 s, cap {cap}"
    return {"messages": len(messages), "requests": len(log), "worst_window": worst,
            "per_number_minute": numbers, "statuses": dict(statuses)}  # fmt: skip
