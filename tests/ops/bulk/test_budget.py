"""Budgets: the pure reservation decision, every implementation (in memory, SQLite and
PostgreSQL, from the same tests), claims from concurrent connections, and the pacer."""

from __future__ import annotations

import bisect
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghl_sms._clock import Clock, FakeClock, SystemClock
from ghl_sms.ghl import RateLimits
from ghl_sms.ghl._pacing import DailyLimitExhausted
from ghl_sms.ops._migrations import migrate
from ghl_sms.ops.bulk.budget import (
    Budget,
    BudgetPacer,
    CapReached,
    DayState,
    Limit,
    MemoryBudget,
    Rule,
    SqlBudget,
    SqliteBudget,
    day_bounds,
    message_limit,
    plan_reservation,
    request_limit,
)
from ghl_sms.ops.ledger import Ledger
from support.backends import BACKENDS, Backend, statement_counter

NOON = datetime(2026, 3, 4, 18, 0, tzinfo=UTC).timestamp()


def _sqlite(path: Path) -> SqliteBudget:
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db)
    return SqliteBudget(db)


@pytest.fixture(params=["memory", *BACKENDS])
def budget(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Budget]:
    """In memory, and in the database of each backend (SQLite, PostgreSQL)."""
    if request.param == "memory":
        yield MemoryBudget()
        return
    target = (
        request.getfixturevalue("pg_url") if request.param == "postgres" else str(tmp_path / "b.db")
    )
    ledger = Ledger.open(target, FakeClock(NOON))
    try:
        yield SqlBudget(ledger.conn)
    finally:
        ledger.close()


def _max_in_window(instants: list[float], seconds: float) -> int:
    instants = sorted(instants)
    return max(bisect.bisect_left(instants, t + seconds) - i for i, t in enumerate(instants))


@given(
    count=st.integers(min_value=1, max_value=20),
    seconds=st.floats(min_value=0.5, max_value=30),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=80),
)
def test_reserved_slots_never_put_more_than_count_in_any_window(
    count: int, seconds: float, gaps: list[float]
) -> None:
    limit = Limit(rules=(Rule(count, seconds),))
    history: list[float] = []
    now = NOON
    day: DayState | None = None
    for gap in gaps:
        now += gap
        slot, day = plan_reservation("k", history, now, limit, day)
        assert slot >= now
        bisect.insort(history, slot)
    assert _max_in_window(history, seconds) <= count


def test_a_per_minute_cap_is_spread_through_the_minute_and_never_exceeded() -> None:
    limit = message_limit(120, None, None)
    assert limit is not None
    budget = MemoryBudget()
    slots = [budget.reserve("msg", limit, NOON) for _ in range(300)]
    assert _max_in_window(slots, 60.5) <= 120  # a send may trail its slot by 0.5 s
    assert _max_in_window(slots, 1.0) <= 2  # 2 a second, not 120 at once
    assert 149.0 <= slots[-1] - slots[0] <= 151.0  # 300 messages at 120 a minute


def test_a_daily_cap_is_reached_then_refused_until_midnight_in_its_zone(budget: Budget) -> None:
    limit = message_limit(None, 3, "America/New_York")
    assert limit is not None
    for _ in range(3):
        budget.reserve("msg:loc", limit, NOON)
    with pytest.raises(CapReached) as info:
        budget.reserve("msg:loc", limit, NOON + 60)
    midnight_ny = datetime(2026, 3, 5, 5, 0, tzinfo=UTC).timestamp()
    assert info.value.until == midnight_ny
    assert budget.blocked_until("msg:loc", limit, NOON + 60) == midnight_ny
    assert budget.reserve("msg:loc", limit, midnight_ny) == midnight_ny  # a new day


def test_a_refunded_slot_can_be_taken_again(budget: Budget) -> None:
    limit = Limit(rules=(Rule(1, 10.0),), per_day=1)
    at = budget.reserve("k", limit, NOON)
    budget.refund("k", at)
    assert budget.reserve("k", limit, NOON) == NOON


def test_two_processes_sharing_the_sqlite_budget_share_its_windows(tmp_path: Path) -> None:
    first, second = _sqlite(tmp_path / "shared.db"), _sqlite(tmp_path / "shared.db")
    limit = Limit(rules=(Rule(2, 10.0),))
    slots = [first.reserve("req:loc", limit, NOON), second.reserve("req:loc", limit, NOON)]
    slots.append(first.reserve("req:loc", limit, NOON))
    assert slots == [NOON, NOON, NOON + 10.0]


def test_two_connections_share_one_budget(backend: Backend) -> None:
    clock = FakeClock(NOON)
    first, second = SqlBudget(backend.connection(clock)), SqlBudget(backend.connection(clock))
    limit = Limit(rules=(Rule(2, 10.0),), per_day=4)
    slots = [first.reserve("req:loc", limit, NOON), second.reserve("req:loc", limit, NOON)]
    slots.append(first.reserve("req:loc", limit, NOON))
    assert slots == [NOON, NOON, NOON + 10.0]
    assert second.count("req:loc", NOON - 1, NOON + 10.0) == 3
    second.reserve("req:loc", limit, NOON)
    with pytest.raises(CapReached):
        first.reserve("req:loc", limit, NOON)  # the day's 4 are taken, by either


@pytest.mark.parametrize("keys", [["req:loc"], ["req:loc", "msg:loc", "msg:loc:+1555"]])
def test_claims_from_eight_concurrent_connections_never_exceed_a_window(
    backend: Backend, keys: list[str]
) -> None:
    """Eight connections (as eight workers would have) claim at the same injected
    instants: if two of them decided from the same history, a window would overflow."""
    clock = FakeClock(NOON)
    workers = 8
    limit = Limit(rules=(Rule(3, 1.0), Rule(10, 5.0)), per_day=150)
    slots: dict[str, list[float]] = {key: [] for key in keys}
    refused: list[str] = []
    start = threading.Barrier(workers)
    guard = threading.Lock()

    def claim(worker: int) -> None:
        ledger = Ledger.open(backend.target, clock)  # a connection of its own
        budget = SqlBudget(ledger.conn)
        try:
            start.wait()
            for i in range(20):
                key = keys[(worker + i) % len(keys)]
                try:
                    at = budget.reserve(key, limit, NOON + i * 0.05)
                except CapReached:
                    with guard:
                        refused.append(key)
                    continue
                with guard:
                    slots[key].append(at)
        finally:
            ledger.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = SqlBudget(backend.connection(clock))
    for key, taken in slots.items():
        assert _max_in_window(taken, 1.0) <= 3, key
        assert _max_in_window(taken, 5.0) <= 10, key
        assert len(taken) == min(150, len(taken) + refused.count(key)), key
        # What was counted is what was handed out.
        assert check.count(key, NOON - 1, max(taken) + 1) == len(taken), key
    assert sum(len(taken) for taken in slots.values()) + len(refused) == workers * 20


def test_day_bounds_follow_the_zone_across_dst() -> None:
    # 2026-03-08 is 23 hours long in New York.
    instant = datetime(2026, 3, 8, 12, 0, tzinfo=UTC).timestamp()
    start, end = day_bounds(instant, "America/New_York")
    assert end - start == 23 * 3600
    assert day_bounds(instant, None) == (
        datetime(2026, 3, 8, tzinfo=UTC).timestamp(),
        datetime(2026, 3, 9, tzinfo=UTC).timestamp(),
    )


@pytest.mark.anyio
async def test_the_pacer_spreads_requests_evenly_at_the_allowed_rate() -> None:
    clock = FakeClock(NOON)
    limits = RateLimits(burst=4, window=10, margin=0)
    pacer = BudgetPacer(MemoryBudget(), "req:loc", clock, limits)
    for _ in range(5):
        await pacer.acquire()
    assert clock.slept == [2.5, 2.5, 2.5, 2.5]


@pytest.mark.anyio
async def test_the_window_is_widened_by_the_slowest_recent_round_trip_until_it_ages_out() -> None:
    """A request GHL counts 0.4 s after its slot (a loaded machine) must not share one of
    GHL's windows with a window's worth of later ones: the claims' window is widened by
    the slowest of the last 64 round trips, not a typical one (a 90th percentile would
    have ignored one stall in 64)."""
    clock = FakeClock(NOON)
    pacer = BudgetPacer(MemoryBudget(), "req:loc", clock, RateLimits(burst=100, window=10))

    async def request(round_trip: float) -> None:
        await pacer.acquire()
        clock.advance(round_trip)
        pacer.observe({})

    for n in range(64):
        await request(0.4 if n == 10 else 0.01)
    assert pacer.limit.longest == pytest.approx(10 * 1.02 + 0.4)
    for _ in range(10):
        await request(0.01)
    assert pacer.limit.longest == pytest.approx(10 * 1.02 + 0.4)  # still in the last 64
    for _ in range(54):
        await request(0.01)
    assert pacer.limit.longest == pytest.approx(10 * 1.02 + 0.01)
    await request(5.0)  # a stall: at most a quarter of the window
    assert pacer.limit.longest == pytest.approx(10 * 1.02 + 2.5)


def test_a_request_limit_holds_the_burst_and_spreads_it_over_the_window() -> None:
    limit = request_limit(RateLimits(burst=100, window=10.0, margin=0.02))
    budget = MemoryBudget()
    slots = [budget.reserve("req", limit, NOON) for _ in range(250)]
    assert _max_in_window(slots, 10.2) <= 100
    assert _max_in_window(slots, 0.102) <= 1
    assert slots[-1] - slots[0] == pytest.approx(249 * 0.102)


@pytest.mark.anyio
async def test_a_429_saying_nothing_is_left_backs_off_the_whole_location() -> None:
    clock = FakeClock(NOON)
    budget = MemoryBudget()
    limits = RateLimits(burst=100, window=10, margin=0)
    pacer = BudgetPacer(budget, "req:loc", clock, limits)
    await pacer.acquire()
    pacer.observe({"x-ratelimit-max": "100", "x-ratelimit-remaining": "0"})
    other_worker = BudgetPacer(budget, "req:loc", clock, limits)
    await other_worker.acquire()
    assert clock.slept == [10.0]


@pytest.mark.anyio
async def test_no_daily_requests_left_refuses_until_utc_midnight() -> None:
    clock = FakeClock(NOON)
    pacer = BudgetPacer(MemoryBudget(), "req:loc", clock)
    pacer.observe({"x-ratelimit-daily-remaining": "0", "x-ratelimit-remaining": "99"})
    with pytest.raises(DailyLimitExhausted):
        await pacer.acquire()
    assert pacer.blocked_until == datetime(2026, 3, 5, tzinfo=UTC).timestamp()


def test_the_postgres_budget_decides_on_the_database_clock(pg_url: str) -> None:
    """Two machines whose clocks disagree by a minute still share one window: each claim
    is placed by the database's clock, and handed back on the claimer's own clock."""

    class Skewed(SystemClock):
        def __init__(self, skew: float) -> None:
            self.skew = skew

        def now(self) -> float:
            return super().now() + self.skew

    behind, ahead = Skewed(-30.0), Skewed(30.0)
    ledgers = [Ledger.open(pg_url, behind), Ledger.open(pg_url, ahead)]
    try:
        _share_across_skew(*ledgers, behind, ahead)
    finally:
        for ledger in ledgers:
            ledger.close()


def _share_across_skew(one: Ledger, two: Ledger, behind: Clock, ahead: Clock) -> None:
    from ghl_sms.ops.storage import shared_budget
    from ghl_sms.ops.storage.postgres import PostgresBudget

    first, second = shared_budget(one.conn, behind), shared_budget(two.conn, ahead)
    assert isinstance(first, PostgresBudget) and isinstance(second, PostgresBudget)
    limit = Limit(rules=(Rule(2, 10.0),))
    a = first.reserve("req:loc", limit, behind.now())
    b = second.reserve("req:loc", limit, ahead.now())
    c = first.reserve("req:loc", limit, behind.now())
    assert abs(a - behind.now()) < 1.0 and abs(b - ahead.now()) < 1.0  # both now, each clock
    assert 9.0 < c - behind.now() <= 10.5  # the third waits out the window both share
    assert first.count("req:loc", behind.now() - 5, behind.now() + 20) == 3
    second.refund("req:loc", b)  # handed back on the clock it was handed out on
    assert first.count("req:loc", behind.now() - 5, behind.now() + 20) == 2
    d = second.reserve("req:loc", limit, ahead.now())
    assert abs((d - 60.0) - c) < 0.5  # b's place: beside c, a window after a


@pytest.mark.anyio
async def test_the_pacer_books_what_ghl_counted_beyond_the_budget_and_asks_nothing_when_it_agrees(
    backend: Backend,
) -> None:
    clock = FakeClock(NOON)
    db = backend.connection(clock)
    other = SqlBudget(backend.connection(clock))  # another process on the same budget
    limits = RateLimits(burst=100, window=10, margin=0)
    pacer = BudgetPacer(SqlBudget(db), "req:loc", clock, limits, spread=False)
    for _ in range(3):
        await pacer.acquire()
    statements = statement_counter(db)
    pacer.observe({"x-ratelimit-max": "100", "x-ratelimit-remaining": "97"})
    assert statements() == 0  # GHL counted our 3: our own claims say so, no round trip
    other.reserve("req:loc", pacer.limit, NOON)
    pacer.observe({"x-ratelimit-max": "100", "x-ratelimit-remaining": "96"})
    assert statements() > 0  # one more than ours: asked, and the other's claim covers it
    assert other.count("req:loc", NOON - 10, NOON) == 4  # nothing booked twice
    pacer.observe({"x-ratelimit-max": "100", "x-ratelimit-remaining": "90"})
    assert other.count("req:loc", NOON - 10, NOON) == 10  # another app's 6 are booked


def test_what_a_budget_knows_of_its_claims_never_exceeds_its_count(backend: Backend) -> None:
    clock = FakeClock(NOON)
    one, two = SqlBudget(backend.connection(clock)), SqlBudget(backend.connection(clock))
    limit = Limit(rules=(Rule(10, 10.0),))
    taken = [one.reserve("k", limit, NOON) for _ in range(3)]
    one.book("k", NOON + 1, 2)
    two.book("k", NOON + 1, 1)
    two.refund("k", NOON + 1)  # deletes a row at that instant: maybe one of ``one``'s
    one.refund("k", taken[0])
    assert one.known("k", NOON - 10, NOON + 10) == one.count("k", NOON - 10, NOON + 10) == 4
    assert two.known("k", NOON - 10, NOON + 10) == 0


def test_the_postgres_budget_knows_its_claims_on_the_callers_clock(pg_url: str) -> None:
    from ghl_sms.ops.storage import shared_budget
    from ghl_sms.ops.storage.postgres import PostgresBudget

    class Behind(SystemClock):
        def now(self) -> float:
            return super().now() - 30.0

    clock = Behind()
    ledger = Ledger.open(pg_url, clock)
    try:
        budget = shared_budget(ledger.conn, clock)
        assert isinstance(budget, PostgresBudget)
        limit = Limit(rules=(Rule(10, 10.0),))
        slots = [budget.reserve("req:loc", limit, clock.now()) for _ in range(3)]
        budget.refund("req:loc", slots[0])
        since, until = clock.now() - 5, clock.now() + 5
        assert budget.known("req:loc", since, until) == budget.count("req:loc", since, until) == 2
    finally:
        ledger.close()
