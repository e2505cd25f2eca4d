"""``ProcrastinateDispatcher``: the Dispatcher port on PostgreSQL. It runs no pump
itself: it defers ``pump(location_id)`` jobs for ``ghl-sms worker`` processes to run.

A defer runs on the ledger's own connection, so it belongs to whatever transaction is
open there (the one that moves a campaign to running): rolled back, no job is left;
committed, the workers are notified. Each defer is a savepoint, so a pump that already
waits (``AlreadyEnqueued`` under the queueing lock) leaves the transaction usable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from procrastinate.exceptions import AlreadyEnqueued

from ghl_sms.ops.bulk.dispatcher import LeaseInfo, PumpRunner
from ghl_sms.ops.jobs.app import PUMP_TASK, make_app, pump_lock

if TYPE_CHECKING:
    from ghl_sms.ops.storage.postgres import PgConnection

__all__ = ["ProcrastinateDispatcher"]


class ProcrastinateDispatcher:
    """Defers pumps on the database of ``db`` (the ledger's PostgreSQL connection)."""

    def __init__(self, db: PgConnection) -> None:
        self._db = db
        self.app = make_app(db.url, pool_size=1)  # never opened: defers use ``db``
        self.requested: list[str] = []

    def request_pump(self, location_id: str) -> bool:
        lock, queueing_lock = pump_lock(location_id)
        task = self.app.tasks[PUMP_TASK].configure(
            connection=self._db.raw, lock=lock, queueing_lock=queueing_lock
        )
        try:
            with self._db.transaction():  # a savepoint inside the caller's transaction
                task.defer(location_id=location_id)
        except AlreadyEnqueued:
            return False
        self.requested.append(location_id)
        return True

    async def run(self, runner: PumpRunner) -> dict[str, LeaseInfo]:
        """Enqueue a pump for every location with work; the workers send."""
        for location_id in runner.locations():
            self.request_pump(location_id)
        return {}
