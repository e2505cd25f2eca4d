"""A bulk engine over one service's own client and ledger (the MCP server, the console)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ghl_sms.ghl import GhlClient, RequestPacer
from ghl_sms.ops.bulk.engine import BulkEngine, EngineConfig
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.service import SmsService

__all__ = ["engine_for_service"]


def engine_for_service(service: SmsService, *, face: str) -> BulkEngine:
    """The engine for the service's location. The client's pacer becomes the location's
    shared budget, so one-to-one sends and campaigns never overspend it; a campaign of
    another location is refused, naming ``face`` ("this server", "this console").

    On PostgreSQL the engine has the job queue (``engine.jobs``, from ``BulkEngine.sqlite``):
    starting or resuming a campaign queues its location's pump for ``ghl-sms worker``,
    and the face must not run campaigns itself (``engine.jobs is not None`` says so).
    A database without it (the ``postgres`` extra or procrastinate's schema missing) is
    refused here, ``ops.jobs.JobQueueUnavailable``, before any campaign is created."""

    @asynccontextmanager
    async def connect(location_id: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        if location_id != service.location_id:
            raise UsageError(
                f"Campaign is for location {location_id}; {face} texts for "
                f"{service.location_id}. Use `ghl-sms bulk resume --location {location_id}`."
            )
        yield service.client

    engine = BulkEngine.sqlite(
        service.ledger,
        connect=connect,
        clock=service.clock,
        config=EngineConfig(default_region=service.config.default_region),
        service_config=service.config,
    )
    service.client.pacer = engine.pacer(service.location_id)
    return engine
