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
"""

from __future__ import annotations

__all__ = ["apply_job_schema"]


async def apply_job_schema(url: str) -> None:
    """Apply procrastinate's schema to the database at ``url`` unless it is there already
    (``ghl-sms db upgrade`` calls this after our own migrations)."""
    from ghl_sms.ops.jobs.app import apply_schema

    await apply_schema(url)
