"""The webhook receiver: a small Starlette app GHL posts its events to.

Per delivery, before answering: read the raw body (at most ``max_body_bytes``, else
413), verify it (signature, JSON, timestamp window; else 401), refuse a replayed id
(401), and admit it into the inbox in one SQLite transaction. Then answer 200 and let
the processor apply it. A 401 stores nothing. If the store is unavailable the answer
is 429, the one status GHL retries.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghl_sms._clock import Clock
from ghl_sms.ghl import ConfigError
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.webhooks._dispatch import Dispatcher, OptOutHook
from ghl_sms.webhooks._processor import Processor
from ghl_sms.webhooks._verify import (
    DEFAULT_TOLERANCE,
    WebhookKeys,
    WebhookVerificationError,
    verify_webhook,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "WEBHOOK_PATH", "create_app"]

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/ghl"
# SMS events are a few kB; an email event carries its HTML body. Anything bigger is not GHL.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Remember an id a little past the window, so clock jitter can't reopen it.
_FORGET_MARGIN = 60.0
_SHUTDOWN_GRACE = 10.0


def create_app(
    *,
    keys: WebhookKeys,
    ledger: Ledger,
    events: EventLog,
    clock: Clock,
    on_opt_out: OptOutHook | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    tolerance: float = DEFAULT_TOLERANCE,
    path: str = WEBHOOK_PATH,
) -> Starlette:
    """Build the receiver. ``app.state.processor.drain()`` finishes queued work (tests).

    ``events`` must share ``ledger``'s connection (``EventLog(ledger.conn, clock)``).
    ``on_opt_out`` runs after the answer when a contact texts an opt-out keyword; the
    local opt-out is recorded before it runs, whatever it does.
    """
    if not keys:
        raise ConfigError("The webhook receiver needs at least one public key to verify with.")
    dispatcher = Dispatcher(ledger=ledger, events=events, on_opt_out=on_opt_out)
    processor = Processor(events=events, dispatcher=dispatcher)

    async def receive(request: Request) -> Response:
        raw_body = await request.body()
        now = clock.now()
        webhook = verify_webhook(raw_body, request.headers, keys=keys, now=now, tolerance=tolerance)
        handled = dispatcher.handles(webhook.event_type)
        try:
            admission = events.admit(
                dedupe_key=webhook.dedupe_key,
                forget_at=max(now, webhook.timestamp) + tolerance + _FORGET_MARGIN,
                event_type=webhook.event_type,
                webhook_id=webhook.webhook_id,
                location_id=webhook.location_id,
                scheme=webhook.scheme,
                event_at=webhook.timestamp,
                body=raw_body if handled else None,
                lease_seconds=processor.lease_seconds,
            )
        except sqlite3.Error:
            logger.exception("could not store webhook %s; asking GHL to retry", webhook.webhook_id)
            return JSONResponse({"error": "busy"}, status_code=429, headers={"Retry-After": "600"})
        if admission.duplicate:
            raise WebhookVerificationError(
                "duplicate", f"Delivery {webhook.dedupe_key} was received already."
            )
        if admission.inbox_id is not None:
            processor.submit(admission.inbox_id)
        return JSONResponse({"ok": True} if handled else {"ok": True, "ignored": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def refuse(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebhookVerificationError)
        client = request.client.host if request.client else "?"
        logger.warning("refused a webhook from %s: %s (%s)", client, exc.reason, exc.message)
        return JSONResponse({"error": exc.reason}, status_code=401)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        processor.recover()
        async with anyio.create_task_group() as tg:
            tg.start_soon(processor.run)
            try:
                yield
            finally:
                with anyio.move_on_after(_SHUTDOWN_GRACE, shield=True):
                    await processor.drain()
                tg.cancel_scope.cancel()

    app = Starlette(
        routes=[
            Route(path, receive, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        exception_handlers={WebhookVerificationError: refuse},
        lifespan=lifespan,
        max_body_size=max_body_bytes,
    )
    app.state.processor = processor
    app.state.events = events
    app.state.ledger = ledger
    return app
