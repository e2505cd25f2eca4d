"""The storage ports: what the ledger's neighbours, the bulk engine and a job engine need
of a backend, in one place.

Every port has one implementation per backend, or one written once over ``Connection``
(``ops.storage.sql``) with the backend's differences inside:

    port            embedded (SQLite file)             distributed (PostgreSQL)
    Ledger          ops.ledger.Ledger on a sqlite3     the same class on a PgConnection
    CampaignStore   bulk.store.SqlCampaignStore        the same; claim_due with SKIP LOCKED
    GuardStore      bulk.guards.SqlGuardStore          the same, under an advisory lock
    Budget          bulk.budget.SqlBudget              storage.postgres.PostgresBudget
                                                       (keys locked in order, DB clock)
    Leases          bulk.dispatcher.SqlLeases          the same (epochs fence stale pumps)
    Dispatcher      bulk.dispatcher.InProcessDispatcher  a job engine's (procrastinate)

``storage.open_bulk_storage(ledger, clock)`` gives the right set for a ledger.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ghl_sms.ops.storage.sql import Connection, Cursor, Dialect

if TYPE_CHECKING:
    from ghl_sms.ops.bulk.budget import Limit
    from ghl_sms.ops.bulk.dispatcher import HeldLease, LeaseInfo, Owner
    from ghl_sms.ops.bulk.guards import ClaimResult, Guards, Health
    from ghl_sms.ops.bulk.models import (
        Campaign,
        CampaignState,
        NewRecipient,
        Recipient,
        RecipientState,
    )
    from ghl_sms.ops.bulk.report import ReportRow, Resolved

__all__ = [
    "Budget",
    "CampaignStore",
    "Connection",
    "Cursor",
    "Dialect",
    "Dispatcher",
    "Fence",
    "GuardStore",
    "ImportCounts",
    "Leases",
    "PumpQueue",
    "PumpRunner",
]

ImportCounts = dict[str, int]
"""Rows imported by outcome: ``pending`` plus one entry per skip reason code."""


@dataclass(frozen=True)
class Fence:
    """A pump's claim on its location: the lease's name and the epoch it was granted.

    Every acquire of a lease bumps its epoch, so a pump that lost its lease (it was
    paused past the lease's expiry and another took over) holds a stale epoch, and a
    fenced write under it changes nothing."""

    name: str
    epoch: int


class CampaignStore(Protocol):
    """The campaign bookkeeping a pump, the engine and ``bulk status`` need."""

    # campaigns
    def create_campaign(self, campaign: Campaign) -> None: ...
    def get_campaign(self, campaign_id: str) -> Campaign | None: ...
    def list_campaigns(self, location_id: str | None = None) -> list[Campaign]: ...
    def running_campaigns(self, location_id: str) -> list[Campaign]: ...
    def locations_with_running(self) -> list[str]: ...
    def set_state(
        self,
        campaign_id: str,
        state: CampaignState,
        *,
        reason: str | None = None,
        only_from: Sequence[CampaignState] | None = None,
    ) -> Campaign | None:
        """Move to ``state`` (if now in one of ``only_from``); None when it didn't move."""
        ...

    def set_waiting(self, campaign_id: str, reason: str | None, until: float | None) -> None: ...
    def set_total(self, campaign_id: str, total: int) -> None: ...
    def set_caps(self, campaign_id: str, caps: Mapping[str, Any]) -> None: ...
    def delete_campaign(self, campaign_id: str) -> None: ...

    # recipients
    def add_recipients(
        self, campaign_id: str, first_seq: int, rows: Sequence[NewRecipient]
    ) -> ImportCounts:
        """Store a batch; a phone or contact already in the campaign is a duplicate."""
        ...

    def claim_due(
        self, campaign_ids: Sequence[str], now: float, limit: int, *, fence: Fence | None = None
    ) -> list[Recipient]:
        """Take up to ``limit`` due recipients (``not_before <= now``) as ``sending``;
        none under a stale ``fence``. Two pumps never take one row."""
        ...

    def sending(self, campaign_ids: Sequence[str]) -> list[Recipient]:
        """Recipients left ``sending`` (by a pump that died), to settle from the ledger."""
        ...

    def finish(
        self,
        recipient_id: int,
        state: RecipientState,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        message_id: str | None = None,
        not_before: float | None = None,
        tried: bool = False,
        resolved: Resolved | None = None,
        fence: Fence | None = None,
    ) -> bool:
        """Record an outcome (or send it back to ``pending``/``deferred``); ``tried``
        counts a transient failure against ``max_attempts``; ``resolved``: who the row
        turned out to be when it was looked up. False (nothing written) under a stale
        ``fence``."""
        ...

    def count_attempt(self, recipient_id: int) -> None:
        """A send request for it is about to go to GHL (counted before, so a crash
        after it still counts)."""
        ...

    def report(self, campaign_id: str) -> Iterator[ReportRow]:
        """``bulk report``'s rows in list order (streamed)."""
        ...

    def defer_due(
        self, campaign_id: str, until: float, reason_code: str, reason: str, now: float
    ) -> int:
        """Move every open recipient due before ``until`` to ``until`` (a daily cap);
        return how many of them were ``pending`` (the rest were already deferred)."""
        ...

    def cancel_open(self, campaign_id: str, reason: str) -> int: ...
    def skip_open(self, campaign_id: str, code: str, reason: str) -> int:
        """Skip every recipient still waiting (pending or deferred) with this reason."""
        ...

    def next_due(self, campaign_id: str) -> tuple[float, str | None] | None:
        """The earliest open recipient's ``not_before`` and why it waits, if any is open."""
        ...

    def has_open(self, campaign_id: str) -> bool: ...
    def open_summary(self, campaign_id: str) -> tuple[int, int, float | None]:
        """Recipients not done (pending, sending, deferred), how many of them are given
        by number only, and the latest ``not_before`` among them."""
        ...

    def counts(self, campaign_id: str) -> dict[tuple[str, str | None], int]: ...
    def reason_example(self, campaign_id: str, state: str, code: str) -> str | None: ...
    def sent_since(self, campaign_id: str, since: float) -> int: ...
    def iter_recipients(
        self, campaign_id: str, *, states: Sequence[str] | None = None, batch: int = 1000
    ) -> Iterator[Recipient]: ...


class GuardStore(Protocol):
    def claim(
        self,
        *,
        recipient_id: int,
        campaign_id: str,
        seq: int,
        contact_id: str | None,
        phone: str | None,
        cost: float,
        max_cost: float | None,
    ) -> ClaimResult:
        """Take this person for this row and book its cost, unless another row has
        the person or the cost would cross ``max_cost``; atomic across processes."""
        ...

    def health(self, campaign_id: str, location_id: str, guards: Guards) -> Health: ...


class Budget(Protocol):
    """Claims under keys, decided by ``bulk.budget.plan_reservation``; shared by whoever
    shares it (a location's pump, interactive sends, other processes and machines)."""

    def reserve(self, key: str, limit: Limit, now: float) -> float:
        """Take the earliest slot at or after ``now``; return its instant (maybe later).

        Raises ``CapReached`` when ``key`` has nothing left today.
        """
        ...

    def refund(self, key: str, at: float) -> None:
        """Give back a slot taken with ``reserve`` and not used."""
        ...

    def blocked_until(self, key: str, limit: Limit, now: float) -> float | None:
        """When ``key`` has nothing left now, the instant it will again; else None."""
        ...

    def book(self, key: str, at: float, count: int) -> None:
        """Count ``count`` claims made elsewhere (GHL counted requests we didn't make)."""
        ...

    def block(self, key: str, until: float) -> None:
        """Nothing under ``key`` before ``until`` (GHL said the day is used up)."""
        ...

    def count(self, key: str, since: float, until: float) -> int:
        """Claims with ``since < at <= until``."""
        ...

    def known(self, key: str, since: float, until: float) -> int:
        """A floor on ``count`` known without a round trip (the claims this object made)."""
        ...


class Leases(Protocol):
    """Named, expiring, exclusive leases (one per location), each with a fencing epoch."""

    def acquire(self, name: str, owner: Owner, now: float, ttl: float) -> Fence | None:
        """Take the lease if it is free, expired, ours, or held by a dead local process;
        its new epoch (bumped on every acquire), or None when someone else holds it."""
        ...

    def renew(self, name: str, owner: Owner, now: float, ttl: float) -> bool:
        """Extend our lease; False when someone else has it now."""
        ...

    def release(self, name: str, owner: Owner) -> None: ...

    def holder(self, name: str, now: float) -> LeaseInfo | None:
        """Who holds the lease now (None when free or expired)."""
        ...

    def holds(self, fence: Fence) -> bool:
        """Whether ``fence`` is still the lease's current epoch."""
        ...


class PumpRunner(Protocol):
    """The engine's side of a dispatch: which locations have work, and their pump."""

    def locations(self) -> list[str]:
        """Locations with campaigns to pump now."""
        ...

    def finished(self) -> bool:
        """Nothing left to wait for once no pump runs."""
        ...

    async def pump(self, location_id: str, lease: HeldLease) -> None:
        """Run the location's pump until it has nothing more to do (or loses the lease)."""
        ...


class PumpQueue(Protocol):
    """A job engine's queue of pumps (``ops.jobs.dispatcher.ProcrastinateDispatcher``)."""

    def request_pump(self, location_id: str) -> bool:
        """Have a worker pump this location, in the caller's transaction if one is open
        on the ledger's connection; False when its pump already waits."""
        ...


class Dispatcher(Protocol):
    async def run(self, runner: PumpRunner) -> dict[str, LeaseInfo]:
        """Pump every location with work, one pump each; return the locations that
        another live process was pumping (and so were left to it)."""
        ...
