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
from procrastinate.worker import Worker

from ghl_sms.ops.jobs.app import CONTROL_QUEUE, PUMP_QUEUE, make_app
from ghl_sms.ops.jobs.observe import count_429, prometheus_text, scale_status
from ghl_sms.ops.jobs.runtime import CURRENT_LOCATION, PumpRuntime

__all__ = ["CountingTransport", "serve_worker"]

logger = logging.getLogger("ghl_sms.ops.jobs")


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


async def _metrics(runtime: PumpRuntime, port: int, counters: Callable[[], dict[str, float]],
                   daily_cap: int, on_url: Callable[[str], None]) -> None:  # fmt: skip
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from ghl_sms._serve import HttpServer, listen

    async def metrics(request: Request) -> Response:
        body = prometheus_text(scale_status(runtime.db, daily_request_cap=daily_cap), counters())
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    app = Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
    server = HttpServer(app, listen("127.0.0.1", port), log_config=None)
    await server.serve(on_ready=lambda url: on_url(url + "/metrics"))


async def serve_worker(
    url: str,
    runtime: PumpRuntime,
    *,
    transport: CountingTransport,
    metrics_port: int | None = None,
    daily_cap: int = 200_000,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT: pumps finish their slice (up to ``slice_seconds``)."""
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
    async with app.open_async():
        async with anyio.create_task_group() as tg:

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as received:
                    async for _ in received:
                        logger.info("stopping: the pumps finish their slice")
                        runtime.stop()
                        pumps.stop()  # type: ignore[no-untyped-call]
                        control.stop()  # type: ignore[no-untyped-call]
                        return

            async def save_counts() -> None:
                while True:
                    await anyio.sleep(2.0)
                    transport.save(runtime)

            async def run_workers() -> None:
                async with anyio.create_task_group() as inner:
                    inner.start_soon(pumps.run)
                    inner.start_soon(control.run)
                tg.cancel_scope.cancel()

            tg.start_soon(stop_on_signal)
            tg.start_soon(save_counts)
            if metrics_port is not None:
                ready = anyio.Event()

                def on_url(found: str) -> None:
                    info["metrics"] = found
                    ready.set()

                tg.start_soon(_metrics, runtime, metrics_port, counters, daily_cap, on_url)
                await ready.wait()
            tg.start_soon(run_workers)
            if on_ready is not None:
                on_ready(info)
    transport.save(runtime)
    await transport.inner.aclose()
