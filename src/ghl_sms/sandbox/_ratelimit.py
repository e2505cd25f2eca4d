"""GHL's two rate limits, per (token, location): a burst window and a daily quota.

Fixed windows: the burst window opens at the first request after the previous one
closed, the daily one at UTC midnight. Rejected requests are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]

_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Limits:
    burst: int = 100
    window: float = 10.0
    daily: int = 200_000


class _Bucket:
    __slots__ = ("burst_used", "day", "daily_used", "window_start")

    def __init__(self) -> None:
        self.window_start = float("-inf")
        self.burst_used = 0
        self.day = -1
        self.daily_used = 0


class RateLimiter:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[str, _Bucket] = {}

    def set_limits(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets.clear()

    def reset(self) -> None:
        self._buckets.clear()

    def hit(self, key: str, now: float) -> tuple[bool, list[tuple[str, str]]]:
        """Count one request; returns (allowed, the five X-RateLimit-* headers)."""
        limits = self.limits
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket()
        if now - bucket.window_start >= limits.window:
            bucket.window_start = now
            bucket.burst_used = 0
        day = int(now // _DAY)
        if day != bucket.day:
            bucket.day = day
            bucket.daily_used = 0
        allowed = bucket.burst_used < limits.burst and bucket.daily_used < limits.daily
        if allowed:
            bucket.burst_used += 1
            bucket.daily_used += 1
        return allowed, self._headers(
            limits.burst - bucket.burst_used, limits.daily - bucket.daily_used
        )

    def untouched_headers(self) -> list[tuple[str, str]]:
        """Headers for a response that no bucket accounts for (e.g. a bad token)."""
        return self._headers(self.limits.burst, self.limits.daily)

    def _headers(self, burst_left: int, daily_left: int) -> list[tuple[str, str]]:
        limits = self.limits
        return [
            ("X-RateLimit-Limit-Daily", str(limits.daily)),
            ("X-RateLimit-Daily-Remaining", str(max(daily_left, 0))),
            ("X-RateLimit-Interval-Milliseconds", str(round(limits.window * 1000))),
            ("X-RateLimit-Max", str(limits.burst)),
            ("X-RateLimit-Remaining", str(max(burst_left, 0))),
        ]
