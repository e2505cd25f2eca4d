"""Budgets: how many requests and messages may go, and when.

Everything a campaign spends is claimed from a budget *before* it is spent, under a key:

- ``req:{location}``: every GHL request a location's pump makes (lookups, sends,
  reconciliation), under GHL's limits (100 per 10 s, 200,000 per day, or what the
  ``X-RateLimit-*`` headers say);
- ``msg:{location}`` and ``msg:{location}:{number}``: messages, under the campaign's
  carrier caps (per minute and per day, for the location and for the sending number).

``reserve`` is decided by one pure function, ``plan_reservation``, over the key's
recent claims (sliding windows, via ``ghl.next_slot``) and its count for the current
day. ``MemoryBudget`` keeps the claims in this process; ``SqlBudget`` keeps them in
shared tables so that several processes (and restarts, and with PostgreSQL several
machines) spend one budget: each claim is one transaction that has its key alone
(SQLite: the file's write lock; PostgreSQL: an advisory lock on the key), reads the
key's claims, decides, and writes. ``storage.postgres.PostgresBudget`` also reads the
database's clock after taking the lock, so machines with skewed clocks agree.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio

from ghl_sms._clock import Clock
from ghl_sms.ghl import RateLimits
from ghl_sms.ghl._pacing import DailyLimitExhausted, RateLimitHeaders, next_slot
from ghl_sms.ops.storage.ports import Budget
from ghl_sms.ops.storage.sql import Connection, dialect, write_transaction

__all__ = [
    "Budget",
    "BudgetPacer",
    "CapReached",
    "DayState",
    "LeaseLost",
    "Limit",
    "MemoryBudget",
    "Rule",
    "SqlBudget",
    "SqliteBudget",
    "day_bounds",
    "message_limit",
    "plan_reservation",
    "request_limit",
]

_KEEP_SECONDS = 3600.0
"""Claims older than this are forgotten (the longest sliding window is a minute)."""

_KNOWN_SECONDS = 300.0
"""How far back ``SqlBudget.known`` remembers its own claims."""


@dataclass(frozen=True)
class Rule:
    """At most ``count`` claims in any ``seconds`` (a sliding window)."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Limit:
    rules: tuple[Rule, ...] = ()
    per_day: int | None = None
    day_zone: str | None = None
    """The zone whose midnight starts a new day (None: UTC)."""

    @property
    def longest(self) -> float:
        return max((r.seconds for r in self.rules), default=0.0)


def _spread(count: int, seconds: float, parts: int) -> Rule:
    """A rule holding ``count`` per ``seconds`` to its rate in ``parts`` smaller steps."""
    step = math.ceil(count / parts)
    return Rule(step, seconds * step / count)


def request_limit(
    limits: RateLimits,
    *,
    burst: int | None = None,
    window: float | None = None,
    allowance: float = 0.0,
    spread: bool = True,
) -> Limit:
    """GHL's request limits as a ``Limit``.

    The window is widened by the pacer's safety margin and by ``allowance`` seconds for
    requests that reach GHL later than planned. A burst is also spread over the window
    in tenths: the same rate, but a client is never handed a whole burst at once, which
    it would need longer to send than a (scaled-down) window lasts.
    """
    base = window if window is not None else limits.window
    seconds = base * (1 + limits.margin) + allowance
    count = burst if burst is not None else limits.burst
    if not spread:  # a person's few requests: no need to space them, only to count them
        return Limit(rules=(Rule(count, seconds),), per_day=limits.daily)
    return Limit(rules=(Rule(count, seconds), _spread(count, seconds, count)), per_day=limits.daily)


MESSAGE_SLACK = 0.5
"""Seconds a message may go out after its cap slot (its request slot comes first)."""


def message_limit(per_minute: int | None, per_day: int | None, zone: str | None) -> Limit | None:
    """A carrier cap: ``per_minute`` spread evenly through the minute (no burst of a whole
    minute's worth in one second, which per-second carrier limits would refuse), and
    never more than ``per_minute`` in any 60 s (of sending, which may trail a slot by
    ``MESSAGE_SLACK``) or ``per_day`` in a calendar day."""
    if per_minute is None and per_day is None:
        return None
    rules: tuple[Rule, ...] = ()
    if per_minute is not None:
        if per_minute < 1:
            raise ValueError("a per-minute cap must be at least 1")
        rules = (_spread(per_minute, 60.0, 60), Rule(per_minute, 60.0 + MESSAGE_SLACK))
    if per_day is not None and per_day < 1:
        raise ValueError("a per-day cap must be at least 1")
    return Limit(rules=rules, per_day=per_day, day_zone=zone)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def day_bounds(instant: float, zone: str | None) -> tuple[float, float]:
    """The calendar day holding ``instant``, as (midnight, next midnight) in ``zone``."""
    tz = _zone(zone) or UTC
    local = datetime.fromtimestamp(instant, tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    end = datetime.combine(start.date() + timedelta(days=1), start.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


class LeaseLost(Exception):
    """The pump lost its location's lease while a request waited for its slot."""


class CapReached(Exception):
    """Nothing more under this key until ``until`` (a daily cap, or GHL's daily limit)."""

    def __init__(self, key: str, until: float, reason: str) -> None:
        when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(f"{reason}; nothing more until {when}")
        self.key = key
        self.until = until
        self.reason = reason


@dataclass(frozen=True)
class DayState:
    """A key's count for one day, and a block set from outside (GHL said: no more)."""

    day_start: float
    used: int
    blocked_until: float | None = None


def _cap_reason(key: str) -> str:
    if key.startswith("req:"):
        return "GHL's daily request limit for this location is used up"
    return "the daily message cap is reached"


def plan_reservation(
    key: str, history: Sequence[float], now: float, limit: Limit, day: DayState | None
) -> tuple[float, DayState]:
    """Where one more claim goes: its instant and the key's day count after it.

    Pure. ``history`` holds the key's claims (sorted) back to ``limit.longest`` before
    ``now``, future reservations included. Raises ``CapReached`` when the day (of the
    instant the rules allow) has no room, or the key is blocked past ``now``.
    """
    if day is not None and day.blocked_until is not None and day.blocked_until > now:
        raise CapReached(key, day.blocked_until, _cap_reason(key))
    slot = now
    for rule in limit.rules:
        slot = max(slot, next_slot(history, now, rule.count, rule.seconds))
    start, end = day_bounds(slot, limit.day_zone)
    used = day.used if day is not None and day.day_start >= start else 0
    if limit.per_day is not None and used >= limit.per_day:
        raise CapReached(key, end, _cap_reason(key))
    return slot, DayState(max(start, day.day_start) if day else start, used + 1, None)


def _peek(day: DayState | None, limit: Limit, now: float) -> float | None:
    if day is not None and day.blocked_until is not None and day.blocked_until > now:
        return day.blocked_until
    if limit.per_day is None:
        return None
    start, end = day_bounds(now, limit.day_zone)
    if day is not None and day.day_start >= start and day.used >= limit.per_day:
        return end
    return None


class MemoryBudget:
    """A budget in this process only (forgotten on exit)."""

    def __init__(self) -> None:
        self._history: dict[str, list[float]] = {}
        self._days: dict[str, DayState] = {}

    def _recent(self, key: str, now: float, keep: float) -> list[float]:
        history = self._history.setdefault(key, [])
        cut = bisect.bisect_right(history, now - max(keep, 1.0))
        if cut:
            del history[:cut]
        return history

    def reserve(self, key: str, limit: Limit, now: float) -> float:
        history = self._recent(key, now, limit.longest)
        slot, day = plan_reservation(key, history, now, limit, self._days.get(key))
        bisect.insort(history, slot)
        self._days[key] = day
        return slot

    def refund(self, key: str, at: float) -> None:
        history = self._history.get(key, [])
        index = bisect.bisect_left(history, at)
        if index < len(history) and history[index] == at:
            del history[index]
            day = self._days.get(key)
            if day is not None and day.used > 0:
                self._days[key] = DayState(day.day_start, day.used - 1, day.blocked_until)

    def blocked_until(self, key: str, limit: Limit, now: float) -> float | None:
        return _peek(self._days.get(key), limit, now)

    def book(self, key: str, at: float, count: int) -> None:
        history = self._history.setdefault(key, [])
        for _ in range(count):
            bisect.insort(history, at)
        day = self._days.get(key)
        if day is not None:
            self._days[key] = DayState(day.day_start, day.used + count, day.blocked_until)

    def block(self, key: str, until: float) -> None:
        day = self._days.get(key) or DayState(0.0, 0)
        self._days[key] = DayState(day.day_start, day.used, until)

    def count(self, key: str, since: float, until: float) -> int:
        history = self._history.get(key, [])
        return bisect.bisect_right(history, until) - bisect.bisect_right(history, since)

    known = count


class SqlBudget:
    """A budget in the ledger's database, shared by every process that opens it.

    Instants are the caller's (``now``); see ``PostgresBudget`` for the database's clock."""

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._reserved = 0
        self._mine: dict[str, list[float]] = {}  # claims written here, not refunded, as stored
        # Which claim a refund removes: SQLite's implicit rowid, PostgreSQL's id column.
        self._row_id = "id" if dialect(db) == "postgres" else "rowid"

    def _day(self, key: str) -> DayState | None:
        row = self._db.execute(
            "SELECT day_start, used, blocked_until FROM bulk_budget_days WHERE key = ?", (key,)
        ).fetchone()
        return DayState(row[0], row[1], row[2]) if row else None

    def _save_day(self, key: str, day: DayState) -> None:
        self._db.execute(
            "INSERT INTO bulk_budget_days (key, day_start, used, blocked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET day_start = excluded.day_start, "
            "used = excluded.used, blocked_until = excluded.blocked_until",
            (key, day.day_start, day.used, day.blocked_until),
        )

    @staticmethod
    def _lock(key: str) -> list[str]:
        return [f"budget:{key}"]

    def _remember(self, key: str, at: float, count: int = 1) -> None:
        mine = self._mine.setdefault(key, [])
        for _ in range(count):
            bisect.insort(mine, at)
        del mine[: bisect.bisect_left(mine, mine[-1] - _KNOWN_SECONDS)]

    def _forget(self, key: str, at: float) -> None:
        mine = self._mine.get(key, [])
        index = bisect.bisect_left(mine, at)
        if index < len(mine) and mine[index] == at:
            del mine[index]

    def reserve(self, key: str, limit: Limit, now: float) -> float:
        with write_transaction(self._db, self._lock(key)) as db:
            slot = self._reserve_locked(db, key, limit, now)
        self._remember(key, slot)
        return slot

    def _reserve_locked(self, db: Connection, key: str, limit: Limit, now: float) -> float:
        history = [
            row[0]
            for row in db.execute(
                "SELECT at FROM bulk_budget_claims WHERE key = ? AND at > ? ORDER BY at",
                (key, now - limit.longest),
            )
        ]
        slot, day = plan_reservation(key, history, now, limit, self._day(key))
        db.execute("INSERT INTO bulk_budget_claims (key, at) VALUES (?, ?)", (key, slot))
        self._save_day(key, day)
        self._reserved += 1
        if self._reserved % 500 == 0:
            db.execute("DELETE FROM bulk_budget_claims WHERE at < ?", (now - _KEEP_SECONDS,))
        return slot

    def refund(self, key: str, at: float) -> None:
        self._forget(key, at)  # first: were the refund to fail, ``known`` only says less
        with write_transaction(self._db, self._lock(key)) as db:
            deleted = db.execute(
                f"DELETE FROM bulk_budget_claims WHERE {self._row_id} = (SELECT {self._row_id} "
                "FROM bulk_budget_claims WHERE key = ? AND at = ? LIMIT 1)",
                (key, at),
            ).rowcount
            if deleted:
                db.execute(
                    "UPDATE bulk_budget_days SET used = CASE WHEN used > 0 THEN used - 1 "
                    "ELSE 0 END WHERE key = ?",
                    (key,),
                )

    def blocked_until(self, key: str, limit: Limit, now: float) -> float | None:
        return _peek(self._day(key), limit, now)

    def book(self, key: str, at: float, count: int) -> None:
        with write_transaction(self._db, self._lock(key)) as db:
            db.executemany(
                "INSERT INTO bulk_budget_claims (key, at) VALUES (?, ?)", [(key, at)] * count
            )
            db.execute("UPDATE bulk_budget_days SET used = used + ? WHERE key = ?", (count, key))
        self._remember(key, at, count)

    def block(self, key: str, until: float) -> None:
        with write_transaction(self._db, self._lock(key)):
            day = self._day(key) or DayState(0.0, 0)
            self._save_day(key, DayState(day.day_start, day.used, until))

    def count(self, key: str, since: float, until: float) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM bulk_budget_claims WHERE key = ? AND at > ? AND at <= ?",
            (key, since, until),
        ).fetchone()
        return int(row[0])

    def known(self, key: str, since: float, until: float) -> int:
        """A floor on ``count`` without a round trip: this object's claims in the span (a
        refund elsewhere deletes a row of its own instant, so each is still a row)."""
        mine = self._mine.get(key, [])
        return bisect.bisect_right(mine, until) - bisect.bisect_right(mine, since)


SqliteBudget = SqlBudget
"""The name from before the PostgreSQL backend (the class serves both)."""


class BudgetPacer:
    """The ``RequestPacer`` a location's ``GhlClient`` uses: every request claims a slot
    from the location's request budget first.

    It learns from the ``X-RateLimit-*`` headers like ``SlidingWindowPacer`` does: a
    smaller burst or a longer window than configured is believed, requests GHL counted
    that this budget did not (another app on the token) are booked, so a 429 (which
    says no requests are left) backs off the whole location at once, and a daily
    remaining of 0 blocks the key until the next UTC midnight.

    GHL counts a request when it handles it, which can be later than the slot it was
    sent in (a busy event loop, queueing at GHL). Two requests one window apart by our
    slots may then land in one of GHL's windows, so the window is widened by the
    slow end of recent round trips (slot to answer), at most a quarter of the window.
    """

    _SAMPLES = 64
    """The allowance is the slowest of the last 64 round trips. (The 90th percentile let
    a request delayed past it, on a loaded machine, land with a window's worth of later
    ones: 101 in 100's window.) A stall slows the location for 64 requests at most."""

    def __init__(
        self,
        budget: Budget,
        key: str,
        clock: Clock,
        limits: RateLimits | None = None,
        *,
        spread: bool = True,
    ) -> None:
        self.budget = budget
        self.spread = spread
        """Space requests evenly through the window (a pump's stream); off for a person's
        few requests, which only need counting against the window."""
        self.key = key
        self._clock = clock
        self.limits = limits or RateLimits()
        self._burst = self.limits.burst
        self._window = self.limits.window
        self.requests = 0
        self.waited = 0.0
        self.blocked_until: float | None = None
        self._slots: dict[int, float] = {}
        self._prepaid: dict[int, float] = {}
        self._round_trips: deque[float] = deque(maxlen=self._SAMPLES)
        self.guard: Callable[[], bool] | None = None
        """Asked after every wait for a slot: False (the pump lost its lease) stops the
        request with ``LeaseLost`` instead of sending it."""

    @property
    def allowance(self) -> float:
        """Extra seconds on the window for requests GHL handles late."""
        if not self._round_trips:
            return 0.0
        return min(max(self._round_trips), self._window / 4)

    @property
    def limit(self) -> Limit:
        return request_limit(
            self.limits,
            burst=self._burst,
            window=self._window,
            allowance=self.allowance,
            spread=self.spread,
        )

    def prepay(self, not_before: float) -> float:
        """Reserve the slot of this task's next request now, at or after ``not_before``,
        and return it; that request's ``acquire()`` then takes it instead of a new one.

        A send paced by carrier caps reserves its request slot and its message slots
        together this way, so the message goes out when its cap slot says, not later.
        Raises ``CapReached`` when GHL's daily limit is used up.
        """
        task = anyio.get_current_task().id
        self.cancel_prepaid()
        slot = self.budget.reserve(self.key, self.limit, max(not_before, self._clock.now()))
        self._prepaid[task] = slot
        return slot

    def cancel_prepaid(self) -> None:
        slot = self._prepaid.pop(anyio.get_current_task().id, None)
        if slot is not None:
            self.budget.refund(self.key, slot)

    async def acquire(self) -> None:
        now = self._clock.now()
        # acquire() and observe() of one request run in the same task (the client's).
        task = anyio.get_current_task().id
        slot = self._prepaid.pop(task, None)
        if slot is None:
            try:
                slot = self.budget.reserve(self.key, self.limit, now)
            except CapReached as exc:
                self.blocked_until = exc.until
                raise DailyLimitExhausted(str(exc)) from None
        self.requests += 1
        self._slots[task] = slot
        if slot > now:
            self.waited += slot - now
            await self._clock.sleep(slot - now)
        if self.guard is not None and not self.guard():
            raise LeaseLost(f"{self.key}: the location's lease was lost while waiting")

    def observe(self, headers: Mapping[str, str]) -> None:
        now = self._clock.now()
        slot = self._slots.pop(anyio.get_current_task().id, None)
        if slot is not None:
            self._round_trips.append(max(now - slot, 0.0))
        said = RateLimitHeaders.parse(headers)
        if said is None:
            return
        self._burst, self._window = said.tighten(self._burst, self._window, self.limits)
        burst, remaining, daily_remaining = said.burst, said.remaining, said.daily_remaining
        if daily_remaining is not None and daily_remaining <= 0:
            self.blocked_until = day_bounds(now, None)[1]
            self.budget.block(self.key, self.blocked_until)
        if remaining is None or burst is None:
            return
        window = self.limit.longest
        counted = burst - remaining
        # Our own claims (a floor on the count) already cover GHL's: nothing to book.
        if counted <= self.budget.known(self.key, now - window, now):
            return
        extra = counted - self.budget.count(self.key, now - window, now)
        if extra > 0:
            self.budget.book(self.key, now, extra)
