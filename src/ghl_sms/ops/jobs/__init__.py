"""Campaigns on a job engine: procrastinate on PostgreSQL, across worker processes and machines.

With ``GHL_SMS_DATABASE_URL=postgresql://...`` a campaign that starts (or resumes) only
*enqueues*: a ``pump(location_id)`` job per location, deferred in the transaction that
moves the campaign to running. ``ghl-sms worker`` processes (as many as you like, on as
many machines) run the jobs:

- ``pump(location_id)``: the same ``Pump`` the embedded mode runs, for a time slice
  (about a minute), under the location's lease (its epoch fences a pump that was
  taken over), then it re-defers itself while work is due. Deferred with
  ``lock="loc:<id>"`` (one running per location in the whole cluster) and
  ``queueing_lock="pump:<id>"`` (at most one waiting);
- ``tick`` (every 5 s): defers pumps for locations with due work (quiet hours that
  ended, retries whose backoff ran out, lost wake-ups);
- ``stalled`` (every 5 s): a pump whose worker stopped beating is failed (not retried:
  its successor may already wait under the queueing lock) and a fresh one is deferred.

Modules: ``app`` (the procrastinate app and its tasks), ``dispatcher``
(``ProcrastinateDispatcher``: deferring pumps, inside a caller's transaction),
``runtime`` (what a worker process runs a pump with), ``observe`` (queue depth, rates
and recoveries for ``bulk status --json`` and ``/metrics``). procrastinate and psycopg
are imported only by those modules (the ``postgres`` extra).

``job_queue`` (here, importing them only when asked) is how a ``BulkEngine`` on a
PostgreSQL ledger gets the queue: ``BulkEngine.sqlite`` attaches it, for every face.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.storage.sql import dialect

if TYPE_CHECKING:
    from ghl_sms.ops.storage.ports import PumpQueue
    from ghl_sms.ops.storage.sql import Connection

__all__ = ["JobQueueUnavailable", "apply_job_schema", "job_queue", "require_job_queue"]

INSTALL_HINT = "pip install 'ghl-sms[postgres]'"
UPGRADE_HINT = (
    "Run `ghl-sms db upgrade` (with the same --database-url / GHL_SMS_DATABASE_URL): it adds it."
)


class JobQueueUnavailable(UsageError):
    """A PostgreSQL ledger without its job queue: the ``postgres`` extra is missing, or
    procrastinate's schema is (a ``ghl-sms db upgrade`` cut short). A campaign there
    could never be sent, so none is created. ``reason`` and ``hint`` (what to do) are
    the message's two parts, for a face that shows them apart; ``missing`` says which."""

    def __init__(self, reason: str, hint: str, *, missing: Literal["extra", "schema"]) -> None:
        super().__init__(f"{reason} {hint}")
        self.reason = reason
        self.hint = hint
        self.missing = missing


def job_queue(db: Connection) -> PumpQueue | None:
    """The workers' queue in the ledger's database: None on SQLite (campaigns are sent
    in process); on PostgreSQL, ``ProcrastinateDispatcher`` over ``db`` (a started or
    resumed campaign defers its location's pump for ``ghl-sms worker``).

    Raises ``JobQueueUnavailable`` when the extra or procrastinate's schema is missing.
    """
    if dialect(db) != "postgres":
        return None
    try:
        from ghl_sms.ops.jobs.dispatcher import ProcrastinateDispatcher
        from ghl_sms.ops.storage.postgres import PgConnection
    except ImportError as exc:
        raise JobQueueUnavailable(
            f"PostgreSQL support is not installed ({exc.name} is missing).",
            INSTALL_HINT,
            missing="extra",
        ) from None
    assert isinstance(db, PgConnection)
    require_job_queue(db)
    return ProcrastinateDispatcher(db)


def require_job_queue(db: Connection) -> None:
    """Refuse a PostgreSQL database whose job queue (procrastinate's schema) is missing,
    before a campaign is created that nothing could ever queue."""
    present = db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    if not present[0]:
        raise JobQueueUnavailable(
            "The database has our tables but no job queue yet (procrastinate's schema).",
            UPGRADE_HINT,
            missing="schema",
        )


async def apply_job_schema(url: str) -> None:
    """Apply procrastinate's schema to the database at ``url`` unless it is there already
    (``ghl-sms db upgrade`` calls this after our own migrations)."""
    from ghl_sms.ops.jobs.app import apply_schema

    await apply_schema(url)
