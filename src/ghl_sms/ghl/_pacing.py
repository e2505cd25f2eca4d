"""Pacing requests under GHL's rate limits, before they are sent.

GHL allows a burst of 100 requests per 10 s and 200,000 per day, per app and location,
and reports what is left in ``X-RateLimit-*`` headers. A well-behaved client never sees
a 429: it reserves a slot before each request so that no sliding window of ``window``
seconds ever holds more than ``burst`` requests (which also keeps any fixed window the
server may use under the limit), and it believes the headers when they say another
process has been spending the same budget.

``next_slot`` is the one decision, a pure function; ``SlidingWindowPacer`` keeps the
history and sleeps on the injected clock.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ghl_sms._clock import Clock

__all__ = [
    "DailyLimitExhausted",
    "RateLimitHeaders",
    "RateLimits",
    "RequestPacer",
    "SlidingWindowPacer",
    "next_slot",
]


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    burst: int = 100
    window: float = 10.0
    daily: int = 200_000
    margin: float = 0.02
    """Extra fraction of the window kept free, for latency jitter between us and GHL."""


class DailyLimitExhausted(Exception):
    """GHL said no requests are left today; waiting a few seconds will not help."""


class RequestPacer(Protocol):
    async def acquire(self) -> None:
        """Wait for (and take) a slot for one request."""

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's ``X-RateLimit-*`` headers."""


def next_slot(history: Sequence[float], now: float, burst: int, window: float) -> float:
    """The earliest instant >= ``now`` for one more request.

    ``history`` holds the (sorted) instants of requests made or reserved, and may hold
    future reservations. Taking the returned instant keeps every window of ``window``
    seconds at ``burst`` requests or fewer.
    """
    recent = len(history) - bisect.bisect_right(history, now - window)
    if recent < burst:
        return now
    return max(now, history[-burst] + window)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one response's ``X-RateLimit-*`` headers say (each None when absent)."""

    burst: int | None
    remaining: int | None
    window: float | None
    """Seconds."""
    daily_remaining: int | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        """None when the response carries no budget at all (cheap: the common test case)."""
        if "x-ratelimit-remaining" not in headers and "x-ratelimit-daily-remaining" not in headers:
            return None
        interval_ms = _header_int(headers, "x-ratelimit-interval-milliseconds")
        return cls(
            burst=_header_int(headers, "x-ratelimit-max"),
            remaining=_header_int(headers, "x-ratelimit-remaining"),
            window=interval_ms / 1000 if interval_ms is not None and interval_ms > 0 else None,
            daily_remaining=_header_int(headers, "x-ratelimit-daily-remaining"),
        )

    def tighten(self, burst: int, window: float, limits: RateLimits) -> tuple[int, float]:
        """(burst, window) after these headers: a smaller burst or a longer window than
        configured is believed; GHL's word can only make the limits stricter."""
        if self.burst is not None and self.burst > 0:
            burst = min(self.burst, limits.burst)
        if self.window is not None:
            window = max(self.window, limits.window)
        return burst, window


class SlidingWindowPacer:
    """Paces one location's requests; share one instance among its clients and tasks."""

    def __init__(self, clock: Clock, limits: RateLimits | None = None) -> None:
        self._clock = clock
        self.limits = limits or RateLimits()
        self._burst = self.limits.burst
        self._window = self.limits.window
        self._history: list[float] = []
        self.daily_remaining: int | None = None
        self.requests = 0
        self.waited = 0.0

    @property
    def _effective_window(self) -> float:
        return self._window * (1 + self.limits.margin)

    def _prune(self, now: float) -> None:
        cut = bisect.bisect_right(self._history, now - self._effective_window)
        if cut:
            del self._history[:cut]

    def reserve(self) -> float:
        """Take the next slot and return how long to wait for it (no sleeping here)."""
        if self.daily_remaining is not None and self.daily_remaining <= 0:
            raise DailyLimitExhausted("GHL's daily request limit for this location is used up")
        now = self._clock.now()
        self._prune(now)
        slot = next_slot(self._history, now, self._burst, self._effective_window)
        bisect.insort(self._history, slot)
        self.requests += 1
        if self.daily_remaining is not None:
            self.daily_remaining -= 1
        return slot - now

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.waited += delay
            await self._clock.sleep(delay)

    def observe(self, headers: Mapping[str, str]) -> None:
        said = RateLimitHeaders.parse(headers)
        if said is None:
            return
        self._burst, self._window = said.tighten(self._burst, self._window, self.limits)
        if said.daily_remaining is not None:
            self.daily_remaining = said.daily_remaining
        burst, remaining = said.burst, said.remaining
        if remaining is None or burst is None:
            return
        # Someone else (another process, another tool on the same token) may be spending
        # this budget: if GHL counted more requests than we made, book the difference.
        now = self._clock.now()
        self._prune(now)
        window_start = now - self._effective_window
        ours = len(self._history) - bisect.bisect_right(self._history, window_start)
        ours_so_far = ours - (len(self._history) - bisect.bisect_right(self._history, now))
        used_by_server = burst - remaining
        for _ in range(used_by_server - ours_so_far):
            bisect.insort(self._history, now)
