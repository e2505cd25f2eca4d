"""Processing admitted deliveries after GHL has had its answer.

The receiver admits a delivery into the inbox (``EventLog.admit``) and hands its id to
the ``Processor``. A worker task, started with the app, applies queued deliveries in
arrival order, then starts their follow-ups (API calls) apart, a few at a time, so a
slow GHL call never holds up the next opt-out. Tests, and shutdown, call ``drain()``
to finish everything queued without a worker.
"""

from __future__ import annotations

import json
import logging
from collections import deque

import anyio

from ghl_sms.ops.events import EventLog
from ghl_sms.webhooks._dispatch import Dispatcher, FollowUp, WebhookEvent

__all__ = ["Processor"]

logger = logging.getLogger(__name__)


class Processor:
    def __init__(
        self,
        *,
        events: EventLog,
        dispatcher: Dispatcher,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        follow_up_concurrency: int = 4,
        recover_every: float = 60.0,
    ) -> None:
        self._events = events
        self._dispatcher = dispatcher
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self._follow_up_concurrency = follow_up_concurrency
        self.recover_every = recover_every
        self._queue: deque[int] = deque()
        self._follow_ups: deque[FollowUp] = deque()
        self._in_flight = 0
        # anyio primitives need a running event loop; they are made on first use.
        self._wakeup: anyio.Event | None = None
        self._all_done: anyio.Event | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def pending(self) -> int:
        """Deliveries queued here and follow-ups not finished yet."""
        return len(self._queue) + len(self._follow_ups) + self._in_flight

    def submit(self, inbox_id: int) -> None:
        self._queue.append(inbox_id)
        if self._wakeup is not None:
            self._wakeup.set()

    def recover(self) -> int:
        """Queue inbox rows a receiver left behind (it died, or processing failed)."""
        ids = self._events.take_abandoned(
            lease_seconds=self.lease_seconds, max_attempts=self.max_attempts
        )
        for inbox_id in ids:
            self.submit(inbox_id)
        if ids:
            logger.info("taking up %d webhook deliveries left unprocessed", len(ids))
        return len(ids)

    async def run(self) -> None:
        """Process deliveries as they come, until cancelled."""
        self._wakeup = anyio.Event()
        async with anyio.create_task_group() as tg:
            while True:
                self._process_queued()
                while self._follow_ups:
                    self._started()
                    tg.start_soon(self._run_follow_up, self._follow_ups.popleft())
                with anyio.move_on_after(self.recover_every):
                    await self._wakeup.wait()
                if not self._wakeup.is_set():
                    self.recover()
                self._wakeup = anyio.Event()

    async def drain(self) -> None:
        """Process everything queued now and wait for all follow-ups to finish."""
        self._process_queued()
        while self._follow_ups:
            self._started()
            await self._run_follow_up(self._follow_ups.popleft())
        while self._in_flight and self._all_done is not None:
            await self._all_done.wait()

    # --- internals ------------------------------------------------------------------------

    def _process_queued(self) -> None:
        # Synchronous on purpose: SQLite writes only, so deliveries apply in arrival order.
        while self._queue:
            inbox_id = self._queue.popleft()
            try:
                self._process(inbox_id)
            except Exception:  # the store itself failed; the row waits for its lease to pass
                logger.exception("webhook delivery %s left for a later attempt", inbox_id)

    def _process(self, inbox_id: int) -> None:
        item = self._events.inbox_item(inbox_id)
        if item is None:
            return  # processed already (by another receiver after a lease ran out)
        try:
            payload = json.loads(item.body)
            event = WebhookEvent(
                type=item.event_type,
                payload=payload,
                timestamp=item.event_at,
                webhook_id=item.webhook_id,
                location_id=item.location_id,
                scheme=item.scheme,
            )
            follow_ups = self._dispatcher.handle(event)
        except Exception as exc:  # one bad event must not stop the others
            logger.exception("processing webhook %s (%s) failed", item.webhook_id, item.event_type)
            self._events.inbox_failed(inbox_id, f"{type(exc).__name__}: {exc}")
            return
        self._events.inbox_done(inbox_id)
        self._follow_ups.extend(follow_ups)

    def _started(self) -> None:
        if self._in_flight == 0:
            self._all_done = anyio.Event()
        self._in_flight += 1

    async def _run_follow_up(self, follow_up: FollowUp) -> None:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._follow_up_concurrency)
        try:
            async with self._limiter:
                await follow_up()
        except Exception:  # top level of a background task: log, keep going
            logger.exception("a follow-up after a webhook failed")
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._all_done is not None:
                self._all_done.set()
