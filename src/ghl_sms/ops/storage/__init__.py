"""Storage for the ledger and the bulk engine, on the embedded SQLite file (the default)
or PostgreSQL (``GHL_SMS_DATABASE_URL=postgresql://...``, the ``postgres`` extra).

- ``sql``: the connection shape the stores are written against, and ``write_transaction``;
- ``ports``: the protocols (``CampaignStore``, ``GuardStore``, ``Budget``, ``Leases``,
  ``Dispatcher``, ``Fence``);
- ``sqlite`` / ``postgres``: opening each backend, and what differs between them;
- ``schema``: versions, ``check`` and ``upgrade`` (``ghl-sms db``).

``bulk_storage(ledger.conn, clock)`` gives the bulk engine's stores for a ledger's
database. This package imports neither psycopg nor the bulk engine until asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ghl_sms._clock import Clock, SystemClock
from ghl_sms.ops.storage.sql import Connection, dialect

if TYPE_CHECKING:
    from ghl_sms.ops.storage.ports import Budget, CampaignStore, GuardStore, Leases

__all__ = ["BulkStorage", "bulk_storage", "request_budget_key", "shared_budget"]


def request_budget_key(location_id: str) -> str:
    """The budget key every GHL request of a location claims (pumps, interactive sends)."""
    return f"req:{location_id}"


@dataclass(frozen=True)
class BulkStorage:
    store: CampaignStore
    guards: GuardStore
    budget: Budget
    leases: Leases


def shared_budget(db: Connection, clock: Clock, *, db_clock: bool | None = None) -> Budget:
    """The budget in ``db``. On PostgreSQL it reads the database's clock (``db_clock``;
    by default when ``clock`` is the system clock, not a test's injected one)."""
    from ghl_sms.ops.bulk.budget import SqlBudget

    if dialect(db) == "postgres":
        if db_clock is None:
            db_clock = isinstance(clock, SystemClock)
        if db_clock:
            from ghl_sms.ops.storage.postgres import PgConnection, PostgresBudget

            assert isinstance(db, PgConnection)
            return PostgresBudget(db, clock)
    return SqlBudget(db)


def bulk_storage(db: Connection, clock: Clock, *, db_clock: bool | None = None) -> BulkStorage:
    """The bulk engine's stores in the ledger's database (either backend)."""
    from ghl_sms.ops.bulk.dispatcher import SqlLeases
    from ghl_sms.ops.bulk.guards import SqlGuardStore
    from ghl_sms.ops.bulk.store import SqlCampaignStore

    return BulkStorage(
        store=SqlCampaignStore(db, clock),
        guards=SqlGuardStore(db, clock),
        budget=shared_budget(db, clock, db_clock=db_clock),
        leases=SqlLeases(db),
    )
