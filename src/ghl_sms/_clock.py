"""Time, injected.

Only this module touches the wall clock. Everything else takes a ``Clock`` so that
tests move time forward instead of sleeping, and one clock can drive the client's
pacing, the sandbox's carrier and the webhook replay window together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import anyio
import anyio.lowlevel

__all__ = ["Clock", "FakeClock", "OffsetClock", "SystemClock", "utc_datetime"]


class Clock(Protocol):
    """A source of time: ``now()`` is Unix epoch seconds (UTC)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


@dataclass
class FakeClock:
    """Starts at a fixed instant; ``sleep()`` records the delay and advances at once."""

    t: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    slept: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.slept.append(seconds)
        self.t += seconds
        # Let other tasks run, as a real sleep would.
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        self.t += seconds


class OffsetClock:
    """Another clock shifted forward by an adjustable offset.

    The sandbox serves real time plus whatever ``/_sandbox/clock/advance`` added, so a
    scheduled message can be made due without waiting for it.
    """

    def __init__(self, base: Clock | None = None, offset: float = 0.0) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self.offset = offset

    def now(self) -> float:
        return self._base.now() + self.offset

    async def sleep(self, seconds: float) -> None:
        await self._base.sleep(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.offset += seconds

    def __repr__(self) -> str:
        return f"OffsetClock(offset={self.offset:g})"


def utc_datetime(clock: Clock) -> datetime:
    """The clock's current instant as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.now(), tz=UTC)
