"""The procrastinate app: its tasks, and deferring a location's pump.

Imported only in PostgreSQL mode (procrastinate and psycopg come with the ``postgres``
extra). The tasks find what they run with (``runtime.PumpRuntime``) in the worker's
context (``additional_context["runtime"]``), so the app itself holds no state and the
CLI can build one just to enqueue.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

if TYPE_CHECKING:
    from ghl_sms.ops.jobs.runtime import PumpRuntime

__all__ = [
    "CONTROL_QUEUE",
    "PUMP_QUEUE",
    "PUMP_TASK",
    "apply_schema",
    "defer_pump",
    "make_app",
    "pump_lock",
]

logger = logging.getLogger("ghl_sms.ops.jobs")

PUMP_TASK = "ghl_sms.pump"
TICK_TASK = "ghl_sms.tick"
STALLED_TASK = "ghl_sms.stalled"
PRUNE_TASK = "ghl_sms.prune"
PUMP_QUEUE = "ghl_sms_pumps"
"""Pumps have their queue; tick and stalled theirs (``CONTROL_QUEUE``), served by a
worker of their own in each process, so they never wait behind busy pumps."""
CONTROL_QUEUE = "ghl_sms_control"
KEEP_JOBS_HOURS = 72
"""Finished jobs (and their events: when each pump ran) are kept this long."""


def pump_lock(location_id: str) -> tuple[str, str]:
    """One pump running per location (``lock``) and at most one waiting (``queueing_lock``)."""
    return f"loc:{location_id}", f"pump:{location_id}"


def make_app(url: str, *, pool_size: int = 4) -> procrastinate.App:
    """An app on the database at ``url``, its tasks registered (not opened)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=url, min_size=1, max_size=max(pool_size, 2), kwargs={"connect_timeout": 10}
    )
    app = procrastinate.App(connector=connector)
    _register(app)
    return app


def _runtime(context: JobContext) -> PumpRuntime:
    extra = context.additional_context or {}
    runtime: PumpRuntime = extra["runtime"]
    return runtime


async def defer_pump(app: procrastinate.App, location_id: str) -> bool:
    """Defer the location's pump unless one already waits; True when this one was added."""
    lock, queueing_lock = pump_lock(location_id)
    deferrer = app.tasks[PUMP_TASK].configure(lock=lock, queueing_lock=queueing_lock)
    try:
        await deferrer.defer_async(location_id=location_id)
    except AlreadyEnqueued:
        return False
    return True


def _register(app: procrastinate.App) -> None:
    @app.task(name=PUMP_TASK, queue=PUMP_QUEUE, retry=False, pass_context=True)
    async def pump(context: JobContext, location_id: str) -> None:
        """One time slice of a location's pump; it defers its successor while work is due."""
        runtime = _runtime(context)
        again = await runtime.run_pump(location_id)
        if again:
            await defer_pump(app, location_id)

    @app.periodic(cron="* * * * * */5", periodic_id="tick")
    @app.task(name=TICK_TASK, queue=CONTROL_QUEUE, queueing_lock=TICK_TASK, pass_context=True)
    async def tick(context: JobContext, timestamp: int) -> None:
        """Defer a pump for every location with due work (quiet hours over, backoffs
        run out, wake-ups that were lost)."""
        runtime = _runtime(context)
        for location_id in runtime.locations_with_work():
            await defer_pump(app, location_id)

    @app.periodic(cron="* * * * * */5", periodic_id="stalled")
    @app.task(name=STALLED_TASK, queue=CONTROL_QUEUE, queueing_lock=STALLED_TASK, pass_context=True)
    async def stalled(context: JobContext, timestamp: int) -> None:
        """Jobs of workers that stopped beating: failed, and a fresh pump for each pump.

        Not retried: a retried pump would collide with its successor under the queueing
        lock. The fresh pump takes the location's lease over (a new epoch), so the old
        one, if it was only frozen, can neither write nor send once it wakes."""
        runtime = _runtime(context)
        jobs = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=runtime.settings.stall_timeout
        )
        for job in jobs:
            if job.id is None:
                continue
            try:
                await app.job_manager.finish_job_by_id_async(job.id, Status.FAILED, False)
            except Exception as exc:  # finished meanwhile (its worker was only slow)
                logger.info("stalled job %s was not failed: %s", job.id, exc)
                continue
            logger.warning("job %s (%s) stalled on a dead or frozen worker", job.id, job.task_name)
            if job.task_name == PUMP_TASK:
                location_id = str(job.task_kwargs.get("location_id", ""))
                if location_id:
                    runtime.stalled_recovered += 1
                    await defer_pump(app, location_id)

    @app.periodic(cron="17 * * * *", periodic_id="prune")
    @app.task(name=PRUNE_TASK, queue=CONTROL_QUEUE, queueing_lock=PRUNE_TASK, pass_context=True)
    async def prune(context: JobContext, timestamp: int) -> None:
        """Forget finished jobs older than ``KEEP_JOBS_HOURS`` (the ledger keeps history)."""
        await app.job_manager.delete_old_jobs(
            nb_hours=KEEP_JOBS_HOURS, queue=None, include_failed=True
        )


async def apply_schema(url: str) -> None:
    """procrastinate's tables and functions, unless the database has them already."""
    app = make_app(url, pool_size=1)
    async with app.open_async():
        row: dict[str, Any] = await app.connector.execute_query_one_async(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        if not row["present"]:
            await app.schema_manager.apply_schema_async()
