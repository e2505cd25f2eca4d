"""What a worker process runs a pump job with: the engine, the worker's settings, and
one time slice of a location's pump under its lease.

No procrastinate here: the job engine calls ``run_pump`` and ``locations_with_work``;
everything else is the embedded mode's code (``Runner``, ``Pump``, the stores).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass

import anyio

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk.dispatcher import HeldLease, Leases, Owner
from ghl_sms.ops.bulk.engine import BulkEngine
from ghl_sms.ops.bulk.running import Runner
from ghl_sms.ops.storage.ports import Fence
from ghl_sms.ops.storage.sql import Connection

__all__ = ["CURRENT_LOCATION", "PumpRuntime", "SliceLease", "WorkerSettings"]

logger = logging.getLogger("ghl_sms.ops.jobs")

CURRENT_LOCATION: ContextVar[str | None] = ContextVar("ghl_sms_pump_location", default=None)
"""The location whose pump made the request (for counting GHL's answers per location)."""


@dataclass(frozen=True, kw_only=True)
class WorkerSettings:
    concurrency: int = 50
    """Pumps (locations) one worker process runs at once."""
    slice_seconds: float = 60.0
    """How long one pump job runs before it hands over to its successor."""
    stall_timeout: float = 30.0
    """A worker silent this long is dead or frozen: its pumps are failed and replaced.
    The lease of a location lasts as long, so a frozen pump's lease has run out by then."""
    recheck: float = 1.0
    """A pump re-checks that its lease (its epoch) is still current at most this long
    before each GHL request."""
    poll: float = 1.0
    """How often an idle worker looks for jobs (NOTIFY wakes it sooner)."""

    @property
    def heartbeat(self) -> float:
        return max(1.0, self.stall_timeout / 6)


class SliceLease(HeldLease):
    """A location's lease for one pump job: ``keep()`` turns False when the slice ends
    (the pump stops claiming and hands back what it queued) or the lease was taken over.

    ``still_ours()`` guards each GHL request: it renews the lease (a write that names
    us: it fails once another pump took over) when the last check is ``recheck``
    seconds old, so a pump frozen past the lease's expiry learns it at its first
    request, before sending anything. The slice's end does not stop a request already
    on its way."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        owner: Owner,
        clock: Clock,
        ttl: float,
        fence: Fence,
        *,
        deadline: float,
        recheck: float,
    ) -> None:
        super().__init__(leases, name, owner, clock, ttl, fence)
        self.deadline = deadline
        self.recheck = recheck
        self.ended = False

    def still_ours(self) -> bool:
        if self.lost:
            return False
        now = self._clock.now()
        if now - self._renewed_at >= min(self.recheck, self.ttl / 3):
            if not self.leases.renew(self.name, self.owner, now, self.ttl):
                logger.warning("lost the lease on %s (taken over); its pump stops", self.name)
                self.lost = True
                return False
            self._renewed_at = now
        return True

    def keep(self) -> bool:
        if not self.still_ours():
            return False
        if self._clock.now() >= self.deadline:
            self.ended = True
            return False
        return True


_WORK = (
    "SELECT DISTINCT c.location_id FROM bulk_campaigns c WHERE c.state = 'running' AND ("
    "EXISTS (SELECT 1 FROM bulk_recipients r WHERE r.campaign_id = c.id "
    "AND r.state IN ('pending', 'deferred') AND r.not_before <= ?) "
    "OR EXISTS (SELECT 1 FROM bulk_recipients r WHERE r.campaign_id = c.id "
    "AND r.state = 'sending') "
    "OR NOT EXISTS (SELECT 1 FROM bulk_recipients r WHERE r.campaign_id = c.id "
    "AND r.state IN ('pending', 'deferred', 'sending')))"
)
"""Locations a pump has something to do for: due recipients, sends a dead pump left in
flight, or a campaign with nobody left to text that is still to be marked completed."""


class PumpRuntime:
    """A worker process's side of the pump jobs."""

    def __init__(
        self, engine: BulkEngine, db: Connection, clock: Clock, settings: WorkerSettings
    ) -> None:
        self.engine = engine
        self.db = db
        self.clock = clock
        self.settings = settings
        self.active: dict[str, SliceLease] = {}
        self.stopping = False
        self.slices = 0
        self.stalled_recovered = 0
        """Pumps of stalled workers this process's ``stalled`` task replaced."""

    def stop(self) -> None:
        """End every pump's slice now (the worker is stopping): they hand back what
        they queued and let the requests on their way finish."""
        self.stopping = True
        for lease in self.active.values():
            lease.deadline = self.clock.now()

    def locations_with_work(self) -> list[str]:
        return [row[0] for row in self.db.execute(_WORK, (self.clock.now(),))]

    def has_work(self, location_id: str) -> bool:
        return location_id in self.locations_with_work()

    async def _acquire(self, location_id: str, owner: Owner) -> Fence | None:
        """The location's lease, waiting (up to its ttl) for a frozen pump's to run out."""
        leases = self.engine.leases
        ttl = self.settings.stall_timeout
        waited = 0.0
        while True:
            fence = leases.acquire(location_id, owner, self.clock.now(), ttl)
            if fence is not None or waited > ttl + 1:
                return fence
            await anyio.sleep(0.5)
            waited += 0.5

    async def run_pump(self, location_id: str) -> bool:
        """One slice of the location's pump; True when work is left for a successor."""
        owner = Owner.here()
        fence = await self._acquire(location_id, owner)
        if fence is None:
            holder = self.engine.leases.holder(location_id, self.clock.now())
            who = holder.describe() if holder else "?"
            logger.warning("location %s is still held by %s; trying later", location_id, who)
            return True
        settings = self.settings
        lease = SliceLease(
            self.engine.leases,
            location_id,
            owner,
            self.clock,
            settings.stall_timeout,
            fence,
            deadline=self.clock.now() + settings.slice_seconds,
            recheck=settings.recheck,
        )
        if self.stopping:
            lease.deadline = self.clock.now()
        token = CURRENT_LOCATION.set(location_id)
        self.active[location_id] = lease
        self.slices += 1
        try:
            await Runner(self.engine, None, "idle", None).pump(location_id, lease)
        except Exception:
            # A pump job never fails (a failed job means a stalled worker); the rows it
            # held are settled by the next pump, which the tick defers.
            logger.exception("the pump of %s stopped on an error", location_id)
        finally:
            CURRENT_LOCATION.reset(token)
            self.active.pop(location_id, None)
            lease.release()
        if lease.lost:
            return False  # another pump has the location now
        return self.has_work(location_id)
