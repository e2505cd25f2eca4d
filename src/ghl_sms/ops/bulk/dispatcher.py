"""One pump per location, never two: leases and the dispatcher that runs the pumps.

A pump may only run while it holds its location's lease. ``SqlLeases`` keeps leases
in the ledger's database: on the SQLite file two processes on one machine never pump the
same location; on PostgreSQL that holds across machines, and ``InProcessDispatcher``
runs unchanged on each of them.

A lease expires unless renewed: a pump renews it as it works (``HeldLease.keep``), so a
crashed process's locations free up after ``ttl`` seconds, or at once when the holder
was a process on this host that no longer exists. Every acquire bumps the lease's
*epoch*; writes fenced by it (``HeldLease.fence``) do nothing once another pump took
the lease over, even if the old one hasn't noticed yet.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

import anyio

from ghl_sms._clock import Clock
from ghl_sms.ops.storage.ports import Dispatcher, Fence, Leases, PumpRunner
from ghl_sms.ops.storage.sql import Connection, dialect, write_transaction

__all__ = [
    "Dispatcher",
    "Fence",
    "HeldLease",
    "InProcessDispatcher",
    "LeaseInfo",
    "Leases",
    "MemoryLeases",
    "Owner",
    "PumpRunner",
    "SqlLeases",
    "SqliteLeases",
]

logger = logging.getLogger("ghl_sms.ops.bulk")


@dataclass(frozen=True)
class Owner:
    """Who holds a lease: one pump run, in one process on one host."""

    id: str
    host: str
    pid: int

    @classmethod
    def here(cls) -> Owner:
        return cls(uuid.uuid4().hex[:16], socket.gethostname(), os.getpid())

    def describe(self) -> str:
        return f"{self.host}:{self.pid}"


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    owner: str
    host: str | None
    pid: int | None
    expires_at: float
    epoch: int = 0

    def describe(self) -> str:
        return f"{self.host or '?'}:{self.pid or '?'}"


def _pid_alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but belongs to someone else
    return True


def _free_for(info: LeaseInfo | None, owner: Owner, now: float) -> bool:
    if info is None or info.expires_at <= now or info.owner == owner.id:
        return True
    # A process on this host that is gone can't be pumping any more.
    return info.host == owner.host and not _pid_alive(info.pid)


class SqlLeases:
    """Leases in the ledger's database: exclusive among the processes (SQLite: of one
    machine; PostgreSQL: of every machine) that share it. A released lease keeps its row
    (expired), so its epoch only ever grows."""

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._lock = " FOR UPDATE" if dialect(db) == "postgres" else ""

    def _get(self, name: str, lock: str = "") -> LeaseInfo | None:
        row = self._db.execute(
            "SELECT name, owner, host, pid, expires_at, epoch FROM bulk_leases WHERE name = ?"
            + lock,
            (name,),
        ).fetchone()
        return LeaseInfo(*row) if row else None

    def acquire(self, name: str, owner: Owner, now: float, ttl: float) -> Fence | None:
        with write_transaction(self._db, [f"lease:{name}"]) as db:
            if not _free_for(self._get(name, self._lock), owner, now):
                return None
            row = db.execute(
                "INSERT INTO bulk_leases (name, owner, host, pid, expires_at, acquired_at, epoch) "
                "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (name) DO UPDATE SET "
                "owner = excluded.owner, host = excluded.host, pid = excluded.pid, "
                "expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, "
                "epoch = bulk_leases.epoch + 1 RETURNING epoch",
                (name, owner.id, owner.host, owner.pid, now + ttl, now),
            ).fetchone()
        return Fence(name, int(row[0]))

    # Renew and release are one UPDATE naming the owner, atomic alone (one round trip,
    # not BEGIN, UPDATE, COMMIT): a takeover writes its owner (and bumps the epoch) in
    # one statement, so a pump taken over by another owner matches no row, writes nothing.
    # On SQLite an UPDATE outside a transaction takes the write lock for its statement
    # (waiting out busy_timeout as BEGIN IMMEDIATE does); inside one, it joins it.

    def renew(self, name: str, owner: Owner, now: float, ttl: float) -> bool:
        cursor = self._db.execute(
            "UPDATE bulk_leases SET expires_at = ? WHERE name = ? AND owner = ?",
            (now + ttl, name, owner.id),
        )
        return cursor.rowcount == 1

    def release(self, name: str, owner: Owner) -> None:
        self._db.execute(
            "UPDATE bulk_leases SET expires_at = 0 WHERE name = ? AND owner = ?",
            (name, owner.id),
        )

    def holder(self, name: str, now: float) -> LeaseInfo | None:
        info = self._get(name)
        if info is None or info.expires_at <= now:
            return None
        if info.host == socket.gethostname() and not _pid_alive(info.pid):
            return None
        return info

    def holds(self, fence: Fence) -> bool:
        info = self._get(fence.name)
        return info is not None and info.epoch == fence.epoch


SqliteLeases = SqlLeases
"""The name from before the PostgreSQL backend (the class serves both)."""


@dataclass
class MemoryLeases:
    """Leases within this process only (tests, or one engine that is alone anyway)."""

    _held: dict[str, tuple[Owner, float]] = field(default_factory=dict)
    _epochs: dict[str, int] = field(default_factory=dict)

    def acquire(self, name: str, owner: Owner, now: float, ttl: float) -> Fence | None:
        info = self.holder(name, now)
        if info is not None and info.owner != owner.id:
            return None
        self._held[name] = (owner, now + ttl)
        self._epochs[name] = self._epochs.get(name, 0) + 1
        return Fence(name, self._epochs[name])

    def renew(self, name: str, owner: Owner, now: float, ttl: float) -> bool:
        held = self._held.get(name)
        if held is None or held[0].id != owner.id:
            return False
        self._held[name] = (owner, now + ttl)
        return True

    def release(self, name: str, owner: Owner) -> None:
        held = self._held.get(name)
        if held is not None and held[0].id == owner.id:
            del self._held[name]

    def holder(self, name: str, now: float) -> LeaseInfo | None:
        held = self._held.get(name)
        if held is None or held[1] <= now:
            return None
        epoch = self._epochs.get(name, 0)
        return LeaseInfo(name, held[0].id, held[0].host, held[0].pid, held[1], epoch)

    def holds(self, fence: Fence) -> bool:
        return self._epochs.get(fence.name) == fence.epoch


class HeldLease:
    """A lease this pump holds. ``keep()`` renews it once a third of ``ttl`` has passed
    and says whether it is still ours: a pump that lost it must stop sending."""

    def __init__(
        self,
        leases: Leases,
        name: str,
        owner: Owner,
        clock: Clock,
        ttl: float,
        fence: Fence | None = None,
    ) -> None:
        self.leases = leases
        self.name = name
        self.owner = owner
        self.fence = fence
        """The epoch this pump was granted: pass it to the store's fenced writes."""
        self._clock = clock
        self.ttl = ttl
        self._renewed_at = clock.now()
        self.lost = False

    def keep(self) -> bool:
        if self.lost:
            return False
        now = self._clock.now()
        if now - self._renewed_at >= self.ttl / 3:
            if not self.leases.renew(self.name, self.owner, now, self.ttl):
                logger.warning("lost the lease on %s; stopping its pump", self.name)
                self.lost = True
                return False
            self._renewed_at = now
        return True

    def still_ours(self) -> bool:
        """Asked right before each GHL request (``keep`` unless a subclass checks more
        often, or lets a request finish after the pump was told to stop)."""
        return self.keep()

    def release(self) -> None:
        if not self.lost:
            self.leases.release(self.name, self.owner)


class InProcessDispatcher:
    """Runs the pumps as tasks of this process, each under its location's lease.

    With ``wait_for_busy`` it keeps trying locations held elsewhere until they free up
    or their campaigns finish; otherwise it leaves them to their holder. ``poll`` is
    how often an otherwise idle dispatcher looks for new work (``until="forever"``).
    """

    def __init__(
        self,
        leases: Leases,
        clock: Clock,
        *,
        ttl: float = 30.0,
        poll: float = 5.0,
        wait_for_busy: bool = False,
        forever: bool = False,
    ) -> None:
        self.leases = leases
        self._clock = clock
        self.ttl = ttl
        self.poll = poll
        self.wait_for_busy = wait_for_busy
        self.forever = forever
        self._changed = anyio.Event()

    def wake(self) -> None:
        """Look for new work now (a campaign was started while pumps run)."""
        self._changed.set()

    async def run(self, runner: PumpRunner) -> dict[str, LeaseInfo]:
        busy: dict[str, LeaseInfo] = {}
        active: set[str] = set()

        async def pump(location_id: str, lease: HeldLease) -> None:
            try:
                await runner.pump(location_id, lease)
            finally:
                lease.release()
                active.discard(location_id)
                self._changed.set()

        async with anyio.create_task_group() as tg:
            while True:
                now = self._clock.now()
                for location_id in runner.locations():
                    if location_id in active:
                        continue
                    owner = Owner.here()
                    fence = self.leases.acquire(location_id, owner, now, self.ttl)
                    if fence is not None:
                        busy.pop(location_id, None)
                        active.add(location_id)
                        lease = HeldLease(
                            self.leases, location_id, owner, self._clock, self.ttl, fence
                        )
                        tg.start_soon(pump, location_id, lease)
                    else:
                        holder = self.leases.holder(location_id, now)
                        if holder is not None:
                            busy[location_id] = holder
                if active:
                    # Wait for a pump to end (or a wake-up); new locations are looked for
                    # every ``poll`` seconds of real time meanwhile, without moving the
                    # clock the pumps pace themselves by.
                    with anyio.move_on_after(self.poll):
                        await self._changed.wait()
                    self._changed = anyio.Event()
                    continue
                if runner.finished() and not self.forever:
                    break
                if not self.forever and not (busy and self.wait_for_busy):
                    break
                await self._idle()
        return busy

    async def _idle(self) -> None:
        """Sleep ``poll`` seconds on the clock, or until woken."""
        async with anyio.create_task_group() as tg:

            async def sleep() -> None:
                await self._clock.sleep(self.poll)
                tg.cancel_scope.cancel()

            async def woken() -> None:
                await self._changed.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(sleep)
            tg.start_soon(woken)
        self._changed = anyio.Event()
