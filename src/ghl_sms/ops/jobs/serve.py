"""One worker process: two procrastinate workers (the pumps' queue, and tick/stalled on a
queue of their own, so they never wait behind busy pumps), an optional ``/metrics``
endpoint on loopback, and a graceful stop on SIGTERM/SIGINT.

Worker settings (see ``runtime.WorkerSettings``): jobs are polled every second besides
NOTIFY (a lock chain is only noticed by polling), heartbeats every ``stall_timeout/6``
seconds, and a worker silent for ``stall_timeout`` is stalled. Finished jobs are kept
(their events say when each pump ran) and pruned after ``app.KEEP_JOBS_HOURS``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import psycopg
from procrastinate.exceptions import ConnectorException
from procrastinate.worker import Worker

from ghl_sms.ops.jobs.app import CONTROL_QUEUE, PUMP_QUEUE, make_app
from ghl_sms.ops.jobs.observe import count_429, prometheus_text, scale_status
from ghl_sms.ops.jobs.runtime import CURRENT_LOCATION, PumpRuntime

__all__ = ["CountingTransport", "DatabaseLost", "serve_worker"]

logger = logging.getLogger("ghl_sms.ops.jobs")

DB_CHECK_SECONDS = 1.0
"""How often the worker looks whether its ledger connection is still open."""


class DatabaseLost(Exception):
    """The worker's ledger connection closed under it (the server restarted, or the
    connection was terminated): the worker stopped, and should be started again."""


def _lost_database(error: BaseException) -> bool:
    """Whether ``error`` (every error of a group) is the database going away under
    procrastinate (its pool hands out a connection the server terminated)."""
    if isinstance(error, BaseExceptionGroup):
        return all(_lost_database(inner) for inner in error.exceptions)
    return isinstance(error, ConnectorException | psycopg.OperationalError)


def _connection_closed(db: object) -> bool:
    """Whether the ledger connection (a ``PgConnection``) is closed or broken; it is one
    connection for the process's life, so a closed one never comes back."""
    raw = getattr(db, "raw", None)
    return bool(getattr(raw, "closed", False))


class CountingTransport(httpx2.AsyncBaseTransport):
    """The network to GHL, counting 429 answers per pumped location (shared by every
    client of the process; closed once, by the worker)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx2.AsyncHTTPTransport()
        self.seen_429: dict[str, int] = {}
        self.unsaved: dict[str, int] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            location = CURRENT_LOCATION.get() or "?"
            self.seen_429[location] = self.seen_429.get(location, 0) + 1
            self.unsaved[location] = self.unsaved.get(location, 0) + 1
        return response

    async def aclose(self) -> None:
        """Clients come and go; the worker closes the network at its end."""

    def save(self, runtime: PumpRuntime) -> None:
        """Add the 429s counted since the last save to the shared per-day counters."""
        pending, self.unsaved = self.unsaved, {}
        for location_id, n in pending.items():
            count_429(runtime.db, location_id, n)


async def _metrics(runtime: PumpRuntime, sock: socket.socket,
                   counters: Callable[[], dict[str, float]],
                   daily_cap: int, on_url: Callable[[str], None]) -> None:  # fmt: skip
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from ghl_sms._serve import HttpServer

    async def metrics(request: Request) -> Response:
        body = prometheus_text(scale_status(runtime.db, daily_request_cap=daily_cap), counters())
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    app = Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
    server = HttpServer(app, sock, log_config=None)
    await server.serve(on_ready=lambda url: on_url(url + "/metrics"))


async def serve_worker(
    url: str,
    runtime: PumpRuntime,
    *,
    transport: CountingTransport,
    metrics_socket: socket.socket | None = None,
    daily_cap: int = 200_000,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT: pumps finish their slice (up to ``slice_seconds``).

    ``metrics_socket``: a socket already listening on loopback (bound by the caller, so
    a busy port is refused before anything starts) for ``/metrics``. Raises
    ``DatabaseLost`` after stopping when the ledger connection closes under it.
    """
    settings = runtime.settings
    app = make_app(url, pool_size=4)
    me = f"{socket.gethostname()}:{os.getpid()}"
    common: dict[str, Any] = {
        "additional_context": {"runtime": runtime},
        "install_signal_handlers": False,
        "update_heartbeat_interval": settings.heartbeat,
        "stalled_worker_timeout": settings.stall_timeout,
        "fetch_job_polling_interval": settings.poll,
        "abort_job_polling_interval": max(settings.poll, 5.0),
        "listen_notify": True,
        "delete_jobs": "never",
        "shutdown_graceful_timeout": settings.slice_seconds + 5,
    }
    pumps = Worker(app, queues=[PUMP_QUEUE], concurrency=settings.concurrency,
                   name=f"pumps@{me}", **common)  # fmt: skip
    control = Worker(app, queues=[CONTROL_QUEUE], concurrency=2, name=f"control@{me}", **common)

    def counters() -> dict[str, float]:
        return {
            "active_pumps": len(runtime.active),
            "pump_slices": runtime.slices,
            "stalled_replaced": runtime.stalled_recovered,
            "seen_429": sum(transport.seen_429.values()),
        }

    info: dict[str, Any] = {"worker": me, "concurrency": settings.concurrency, "metrics": None}
    lost: list[str] = []
    stopping = anyio.Event()

    def stop() -> None:
        stopping.set()
        runtime.stop()
        pumps.stop()  # type: ignore[no-untyped-call]
        control.stop()  # type: ignore[no-untyped-call]

    async with app.open_async():
        async with anyio.create_task_group() as tg:

            async def deadline() -> None:
                # A procrastinate worker asked to stop before its run() began forgets it
                # (run() clears the request): end everything once the grace has passed.
                await stopping.wait()
                await anyio.sleep(common["shutdown_graceful_timeout"] + 5)
                tg.cancel_scope.cancel()

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
                    async for _ in received:
                        logger.info("stopping: the pumps finish their slice")
                        stop()
                        return

            async def watch_database() -> None:
                while not _connection_closed(runtime.db):
                    await anyio.sleep(DB_CHECK_SECONDS)
                logger.error("lost the connection to the database: stopping")
                lost.append("closed")
                stop()

            async def save_counts() -> None:
                while True:
                    await anyio.sleep(2.0)
                    try:
                        transport.save(runtime)
                    except psycopg.OperationalError:
                        continue  # the connection is gone: watch_database stops the worker

            async def run_worker(worker: Worker) -> None:
                if stopping.is_set():
                    return
                try:
                    await worker.run()  # type: ignore[no-untyped-call]
                except Exception as exc:
                    if not _lost_database(exc):
                        raise
                    logger.error("the job queue lost the database: stopping")
                    lost.append("queue")
                    stop()

            async def run_workers() -> None:
                async with anyio.create_task_group() as inner:
                    inner.start_soon(run_worker, pumps)
                    inner.start_soon(run_worker, control)
                tg.cancel_scope.cancel()

            tg.start_soon(stop_on_signal)
            tg.start_soon(deadline)
            tg.start_soon(save_counts)
            tg.start_soon(watch_database)
            if metrics_socket is not None:
                ready = anyio.Event()

                def on_url(found: str) -> None:
                    info["metrics"] = found
                    ready.set()

                tg.start_soon(_metrics, runtime, metrics_socket, counters, daily_cap, on_url)
                await ready.wait()
            tg.start_soon(run_workers)
            if on_ready is not None:
                on_ready(info)
    if lost:
        await transport.inner.aclose()
        raise DatabaseLost("the connection to the database closed")
    transport.save(runtime)
    await transport.inner.aclose()
