"""A location's pump: works through the due recipients of its running campaigns.

One coordinator claims due recipients from the store (``pending``/``deferred`` ->
``sending``) and hands them to ``workers`` concurrent workers, enough to keep the
location's request budget busy despite GHL's latency. Each worker sends one recipient
through ``SmsService.send`` under the recipient's idempotency key, so the preflight,
the ledger claim and the reconciliation of an interrupted send all come from the one
place that does them for single sends. Every request the service makes claims a slot
from the location's budget first (the client's pacer); every message claims the
campaign's carrier caps first (the service's ``gate``).

What happens to a recipient:

- sent (or found already sent under its key): ``sent`` with GHL's message id;
- blocked by the preflight (DND, opted out, no or invalid number...): ``skipped``;
- in quiet hours: ``deferred`` to their next allowed moment (or ``skipped``);
- a daily cap reached: ``deferred`` to the next day, with every other due recipient of
  the campaign, and the campaign says it is waiting;
- a transient failure (5xx, timeout, a lost answer the ledger could not settle): retried
  with backoff through ``not_before``, up to the campaign's ``max_attempts``;
- a permanent refusal: ``failed`` with GHL's reason.

Pause and cancel are campaign states the coordinator reads between claims and each
worker checks before sending. A pump that starts settles whatever a dead one left in
``sending`` from the ledger before it claims anything.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk.budget import Budget, BudgetPacer
from ghl_sms.ops.bulk.caps import CarrierCaps
from ghl_sms.ops.bulk.dispatcher import HeldLease
from ghl_sms.ops.bulk.guards import GuardStore
from ghl_sms.ops.bulk.models import Campaign, CampaignState, SkipReason
from ghl_sms.ops.bulk.models import Recipient as Row
from ghl_sms.ops.bulk.outcomes import PumpConfig, expired_sentence
from ghl_sms.ops.bulk.progress import ProgressCallback, Tally
from ghl_sms.ops.bulk.recipient import RecipientPath, recipient_request
from ghl_sms.ops.bulk.report import Resolved
from ghl_sms.ops.bulk.settle import settle_interrupted
from ghl_sms.ops.bulk.store import CampaignStore
from ghl_sms.ops.bulk.template import Template
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SmsService

# ``recipient_request``, ``PumpConfig`` and ``Tally`` live in their own modules now;
# they stay importable from here.
__all__ = ["ProgressCallback", "Pump", "PumpConfig", "Tally", "Until", "recipient_request"]

logger = logging.getLogger("ghl_sms.ops.bulk")

Until = Literal["done", "idle", "forever"]
"""When a run stops: when its campaigns are no longer running (``done``), when nothing
is due right now (``idle``), or never (``forever``: a long-lived worker)."""


class Pump(RecipientPath):
    """A location's pump: a coordinator claiming due recipients, and ``workers`` workers
    sending them (``RecipientPath``) and recording what became of each (``Outcomes``)."""

    def __init__(
        self,
        *,
        location_id: str,
        store: CampaignStore,
        guards: GuardStore,
        ledger: Ledger,
        service: SmsService,
        budget: Budget,
        pacer: BudgetPacer,
        clock: Clock,
        lease: HeldLease,
        config: PumpConfig,
        until: Until = "done",
        watch: set[str] | None = None,
        on_progress: ProgressCallback | None = None,
        location_zone: str | None = None,
    ) -> None:
        self.location_id = location_id
        self.store = store
        self.guards = guards
        self.ledger = ledger
        self.service = service
        self.budget = budget
        self.pacer = pacer
        self.clock = clock
        self.lease = lease
        self.config = config
        self.until = until
        self.watch = watch
        self.on_progress = on_progress
        self.location_zone = location_zone
        self.caps = CarrierCaps(
            location_id=location_id,
            budget=budget,
            pacer=pacer,
            clock=clock,
            location_zone=location_zone,
        )
        self._campaigns: dict[str, Campaign] = {}
        self._templates: dict[str, Template] = {}
        self._tallies: dict[str, Tally] = {}
        self._queued = 0
        self._in_flight: Counter[str] = Counter()
        self._wake = anyio.Event()
        self._outcomes: Counter[str] = Counter()
        self._resolved: dict[int, Resolved] = {}

    # --- the coordinator ------------------------------------------------------------------

    async def run(self) -> None:
        self.pacer.guard = self.lease.still_ours
        await self._recover()
        capacity = self.config.workers * 2
        send: MemoryObjectSendStream[Row]
        receive: MemoryObjectReceiveStream[Row]
        send, receive = anyio.create_memory_object_stream[Row](max_buffer_size=capacity)
        async with anyio.create_task_group() as tg:
            for _ in range(self.config.workers):
                tg.start_soon(self._worker, receive.clone())
            receive.close()
            async with send:
                await self._coordinate(send, capacity)

    def _refresh(self) -> list[Campaign]:
        running = self.store.running_campaigns(self.location_id)
        seen = {c.id for c in running}
        for campaign in running:
            if campaign.id not in self._tallies:
                self._tallies[campaign.id] = Tally.read(self.store, campaign, self.pacer.limits)
            self._templates.setdefault(campaign.id, Template.parse(campaign.template))
        for gone in set(self._campaigns) - seen:
            self._campaigns.pop(gone)
            after = self.store.get_campaign(gone)
            if after is not None:
                self._report(after)
        self._campaigns.update({c.id: c for c in running})
        return running

    def _done_watching(self, running: list[Campaign]) -> bool:
        if not running:
            return True
        if self.watch is None or self.until == "forever":
            return False
        return not any(c.id in self.watch for c in running)

    async def _coordinate(self, send: MemoryObjectSendStream[Row], capacity: int) -> None:
        batch = max(1, self.config.workers // 2)
        while True:
            if not self.lease.keep():
                return
            running = self._refresh()
            if self._done_watching(running):
                return
            self._expire(running)
            now = self.clock.now()
            free = capacity - self._queued - sum(self._in_flight.values())
            claimed: list[Row] = []
            if free >= batch:
                claimed = self.store.claim_due(
                    [c.id for c in running], now, free, fence=self.lease.fence
                )
                for row in claimed:
                    self._queued += 1
                    await send.send(row)
            if claimed:
                continue
            busy = self._queued or sum(self._in_flight.values())
            self._complete_finished(running)
            if busy:
                # Workers may wait long for a slot (a per-minute cap): wake up to renew
                # the lease meanwhile, so no other process takes the location over.
                with anyio.move_on_after(self.lease.ttl / 3):
                    await self._wake.wait()
                self._wake = anyio.Event()
                continue
            # Nothing due and nothing in flight: say what each campaign waits for.
            next_at: float | None = None
            for campaign in running:
                due = self.store.next_due(campaign.id)
                if due is None:
                    continue
                if due[0] > now:
                    self._set_waiting(campaign, due[1], due[0])
                next_at = due[0] if next_at is None else min(next_at, due[0])
            if self.until == "idle":
                return
            if next_at is None:
                if any(self.store.has_open(c.id) for c in running):
                    # Rows ``sending`` that no worker here holds: not ours to settle
                    # while running; don't spin, look again later.
                    await self.clock.sleep(self.config.idle_poll)
                continue  # every campaign completed just now: refresh and stop
            await self.clock.sleep(min(max(next_at - now, 0.0), self.config.idle_poll))

    def _complete_finished(self, running: list[Campaign]) -> None:
        for campaign in running:
            if self._in_flight[campaign.id] == 0 and not self.store.has_open(campaign.id):
                done = self.store.set_state(
                    campaign.id, CampaignState.COMPLETED, only_from=[CampaignState.RUNNING]
                )
                if done is not None:
                    logger.info("campaign %s completed", campaign.id)

    # --- settling what a dead pump left ---------------------------------------------------

    async def _recover(self) -> None:
        """Settle recipients a dead pump left ``sending`` (``settle.py``): we hold the
        location's lease, so no one else is sending them."""
        campaigns = [
            c
            for c in self.store.list_campaigns(self.location_id)
            if c.state in (CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.CANCELLED)
        ]
        stuck = self.store.sending([c.id for c in campaigns])
        if stuck:
            await settle_interrupted(
                stuck,
                store=self.store,
                ledger=self.ledger,
                service=self.service,
                cancelled={c.id for c in campaigns if c.state == CampaignState.CANCELLED},
            )

    # --- workers --------------------------------------------------------------------------

    async def _worker(self, receive: MemoryObjectReceiveStream[Row]) -> None:
        async with receive:
            async for row in receive:
                self._queued -= 1
                self._in_flight[row.campaign_id] += 1
                try:
                    await self._process(row)
                finally:
                    self._in_flight[row.campaign_id] -= 1
                    self._wake.set()

    def _expire(self, running: list[Campaign]) -> None:
        """Past its deadline, a campaign's waiting recipients are skipped at once."""
        for campaign in running:
            if self._expired(campaign):
                skipped = self.store.skip_open(
                    campaign.id, str(SkipReason.EXPIRED), expired_sentence(campaign)
                )
                tally = self._tallies.get(campaign.id)
                if skipped and tally is not None:
                    self._tallies[campaign.id] = Tally.read(self.store, campaign, self.pacer.limits)
