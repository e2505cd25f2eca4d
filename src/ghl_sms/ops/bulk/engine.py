"""``BulkEngine``: what the CLI's ``bulk`` commands and the MCP bulk tools call.

A campaign goes through::

    create()  -> draft       recipients streamed in; local checks (numbers, opt-outs,
                             duplicates) skip some with their reasons
    preview() -> Preview     the dry run: counts, skips, parts, cost, samples; sends nothing
    start()   -> running     (or discard() the draft)
    run()                    pumps every location with running campaigns until done;
                             progress through ``on_progress``
    pause() / resume() / cancel(), status(), report()

State lives in the store (SQLite next to the ledger by default), so ``status`` works
from any process and ``run`` after a crash picks up where the dead one stopped: every
recipient's send goes through ``SmsService.send`` under a key derived from the
campaign and the recipient's position, and the ledger makes that exactly once.

For an MCP tool: ``create`` + ``preview`` to show what would happen and ask for
confirmation, ``start`` on confirmation, ``run`` in a background task (or one
long-lived ``run(until="forever")`` that ``start`` wakes), and ``status`` to follow.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.ghl import GhlClient, GhlError
from ghl_sms.ops.bulk.budget import Budget, BudgetPacer
from ghl_sms.ops.bulk.config import Connector, EngineConfig
from ghl_sms.ops.bulk.dispatcher import (
    Dispatcher,
    InProcessDispatcher,
    Leases,
    Owner,
)
from ghl_sms.ops.bulk.errors import CampaignNotFound, CampaignStateError, NoRecipients
from ghl_sms.ops.bulk.guards import GuardStore
from ghl_sms.ops.bulk.importing import ImportCallback, check_spec, import_recipients
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    Cancelled,
    Preview,
    RecipientState,
    RunSummary,
)
from ghl_sms.ops.bulk.preview import PreviewTally, run_preview
from ghl_sms.ops.bulk.progress import ProgressCallback
from ghl_sms.ops.bulk.pump import Until
from ghl_sms.ops.bulk.reading import campaign_progress, campaign_status
from ghl_sms.ops.bulk.report import ReportRow
from ghl_sms.ops.bulk.running import Runner
from ghl_sms.ops.bulk.settle import settle_interrupted, settle_known
from ghl_sms.ops.bulk.sources import RecipientSource, normalize_phone
from ghl_sms.ops.bulk.store import CANCELLED_REASON, CampaignStore
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig, SmsService
from ghl_sms.ops.storage import bulk_storage, request_budget_key
from ghl_sms.ops.storage.ports import PumpQueue
from ghl_sms.ops.storage.sql import write_transaction

__all__ = [
    "BulkEngine",
    "CampaignNotFound",
    "CampaignStateError",
    "Connector",
    "EngineConfig",
    "NoRecipients",
]

logger = logging.getLogger("ghl_sms.ops.bulk")


class BulkEngine:
    """Bulk campaigns over a store, a budget, leases and the ledger.

    ``connect`` opens a location's client; the engine gives it the pacer to use.
    """

    def __init__(
        self,
        *,
        store: CampaignStore,
        guards: GuardStore,
        ledger: Ledger,
        budget: Budget,
        leases: Leases,
        connect: Connector,
        clock: Clock,
        config: EngineConfig | None = None,
        service_config: ServiceConfig | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.guards = guards
        self.ledger = ledger
        self.budget = budget
        self.leases = leases
        self.connect = connect
        self.clock = clock
        self.config = config or EngineConfig()
        self.service_config = service_config or ServiceConfig(
            default_region=self.config.default_region
        )
        self._new_id = new_id or (lambda: "cmp_" + uuid.uuid4().hex[:12])
        self._zones: dict[str, str | None] = {}
        self._dispatcher: InProcessDispatcher | None = None
        self.jobs: PumpQueue | None = None
        """A job engine's queue (PostgreSQL): starting or resuming a campaign defers its
        location's pump in the same transaction, for ``ghl-sms worker`` to run."""

    @classmethod
    def sqlite(
        cls,
        ledger: Ledger,
        *,
        connect: Connector,
        clock: Clock,
        config: EngineConfig | None = None,
        service_config: ServiceConfig | None = None,
    ) -> BulkEngine:
        """The default engine: store, budget and leases in the ledger's database (its
        SQLite file, or PostgreSQL when the ledger was opened on one).

        On PostgreSQL the engine gets the database's job queue (``jobs``): starting or
        resuming a campaign queues its location's pump for ``ghl-sms worker``, and the
        caller does not run campaigns itself. Raises ``ops.jobs.JobQueueUnavailable``
        (a ``UsageError``) when the ``postgres`` extra or the queue's schema is missing
        (``ghl-sms db upgrade`` adds it).
        """
        from ghl_sms.ops.jobs import job_queue  # imports the job engine on PostgreSQL only

        jobs = job_queue(ledger.conn)
        parts = bulk_storage(ledger.conn, clock)
        engine = cls(
            store=parts.store,
            guards=parts.guards,
            ledger=ledger,
            budget=parts.budget,
            leases=parts.leases,
            connect=connect,
            clock=clock,
            config=config,
            service_config=service_config,
        )
        engine.jobs = jobs
        return engine

    # --- clients --------------------------------------------------------------------------

    def pacer(self, location_id: str) -> BudgetPacer:
        """The pacer every request of this location goes through."""
        return BudgetPacer(
            self.budget, request_budget_key(location_id), self.clock, self.config.rate_limits
        )

    @asynccontextmanager
    async def _service(self, location_id: str, pacer: BudgetPacer) -> AsyncIterator[SmsService]:
        async with self.connect(location_id, pacer) as client:
            yield SmsService(client, self.ledger, clock=self.clock, config=self.service_config)

    async def location_zone(self, location_id: str, client: GhlClient) -> str | None:
        """The location's time zone (its daily caps' midnight), read once; None: UTC."""
        if location_id not in self._zones:
            try:
                self._zones[location_id] = (await client.get_location()).timezone
            except GhlError:
                self._zones[location_id] = None  # no locations scope: days in UTC
        return self._zones[location_id]

    # --- creating -------------------------------------------------------------------------

    async def create(
        self,
        spec: CampaignSpec,
        source: RecipientSource,
        *,
        campaign_id: str | None = None,
        on_import: ImportCallback | None = None,
    ) -> Campaign:
        """A draft campaign with its recipients stored (streamed, in batches).

        Checked here, without GHL: the template, the sending number, the caps; per
        recipient the number's validity, local opt-outs and duplicates (skipped with
        their reasons). Raises ``UsageError``/``ValueError`` for a bad spec or source.

        ``campaign_id`` makes it idempotent (a retried MCP call): a campaign that
        already has this id is returned as it is, if it is the same location and text.
        """
        if campaign_id is not None:
            existing = self.store.get_campaign(campaign_id)
            if existing is not None and existing.state != CampaignState.IMPORTING:
                if (existing.location_id, existing.template) != (spec.location_id, spec.template):
                    raise CampaignStateError(
                        f"Campaign {campaign_id} exists with another location or text; "
                        "use a new id."
                    )
                return existing
            if existing is not None:
                self.store.delete_campaign(campaign_id)  # an import that died: start over
        template = check_spec(spec)
        from_number = None
        if spec.from_number:
            from_number = normalize_phone(spec.from_number, self.config.default_region)
            if from_number is None:
                raise UsageError(f"The sending number {spec.from_number!r} is not valid.")
        now = utc_datetime(self.clock)
        campaign = Campaign(
            id=campaign_id or self._new_id(),
            location_id=spec.location_id,
            name=spec.name or f"{source.description} {now:%Y-%m-%d %H:%M}",
            template=template.source,
            attachments=list(spec.attachments),
            from_number=from_number,
            transactional=spec.transactional,
            quiet_hours=spec.quiet_hours,
            send_window=str(spec.send_window) if spec.send_window else None,
            caps=spec.caps.to_dict() | {"guards": spec.guards.to_dict()},
            max_attempts=spec.max_attempts,
            source=source.description,
            state=CampaignState.IMPORTING,
            created_at=now,
            updated_at=now,
        )
        self.store.create_campaign(campaign)
        try:
            location = campaign.location_id
            pacer = self.pacer(location)
            total = await import_recipients(
                self.store,
                self.ledger,
                campaign,
                source,
                lambda: self.connect(location, pacer),
                region=self.config.default_region,
                batch_size=self.config.import_batch,
                on_import=on_import,
            )
            if total == 0:
                raise NoRecipients(source.nobody())
        except BaseException:
            self.store.delete_campaign(campaign.id)
            raise
        self.store.set_total(campaign.id, total)
        created = self.store.set_state(
            campaign.id, CampaignState.DRAFT, only_from=[CampaignState.IMPORTING]
        )
        assert created is not None
        return created

    def discard(self, campaign_id: str) -> None:
        """Delete a campaign that never started (a draft, or an interrupted import)."""
        campaign = self.campaign(campaign_id)
        if campaign.state not in (CampaignState.DRAFT, CampaignState.IMPORTING):
            raise CampaignStateError(
                f"Campaign {campaign_id} is {campaign.state}; only drafts can be discarded "
                "(cancel it instead)."
            )
        self.store.delete_campaign(campaign_id)

    # --- the dry run ----------------------------------------------------------------------

    async def preview(
        self, campaign_id: str, *, check_contacts: bool = False, samples: int = 3
    ) -> Preview:
        """What sending this campaign would do; nothing is sent.

        Counted locally, except the samples: each is looked up and rendered as its
        recipient would get it. With ``check_contacts`` every recipient's GHL contact
        is read (one request each, paced) so DND, unknown contacts and merge fields
        from the contact count too.
        """
        campaign = self.campaign(campaign_id)
        skipped: Counter[str] = Counter()
        for (state, code), n in self.store.counts(campaign_id).items():
            if state == RecipientState.SKIPPED and code:
                skipped[code] += n
        examples = {
            code: self.store.reason_example(campaign_id, "skipped", code) or "" for code in skipped
        }
        tally = PreviewTally(
            campaign,
            prices=self.service_config,
            limits=self.config.rate_limits,
            placeholder=self.config.estimate_placeholder,
            now=utc_datetime(self.clock),
            samples=samples,
            skipped=skipped,
            examples=examples,
        )
        location = campaign.location_id
        return await run_preview(
            tally,
            self.store.iter_recipients(campaign_id, states=("pending", "deferred")),
            lambda: self._service(location, self.pacer(location)),
            check_contacts=check_contacts,
        )

    # --- state changes --------------------------------------------------------------------

    def campaign(self, campaign_id: str) -> Campaign:
        campaign = self.store.get_campaign(campaign_id)
        if campaign is None:
            raise CampaignNotFound(
                f"No campaign {campaign_id!r}; `ghl-sms bulk status` lists the campaigns."
            )
        return campaign

    def campaigns(self, location_id: str | None = None) -> list[Campaign]:
        return self.store.list_campaigns(location_id)

    def _move(
        self,
        campaign_id: str,
        state: CampaignState,
        allowed: Sequence[CampaignState],
        verb: str,
    ) -> Campaign:
        campaign = self.campaign(campaign_id)
        if campaign.state == state:
            return campaign
        with write_transaction(self.ledger.conn):
            moved = self.store.set_state(campaign_id, state, only_from=allowed)
            if moved is not None and state == CampaignState.RUNNING and self.jobs is not None:
                self.jobs.request_pump(moved.location_id)  # enqueued only if this commits
        if moved is None:
            current = self.campaign(campaign_id)
            raise CampaignStateError(f"Campaign {campaign_id} is {current.state}; can't {verb} it.")
        if self._dispatcher is not None:
            self._dispatcher.wake()
        return moved

    def start(self, campaign_id: str) -> Campaign:
        """Draft -> running: ``run`` (or a running ``run(until="forever")``) sends it."""
        return self._move(campaign_id, CampaignState.RUNNING, [CampaignState.DRAFT], "start")

    def pause(self, campaign_id: str) -> Campaign:
        """Stop claiming its recipients; the ones in flight finish. ``resume`` continues."""
        return self._move(campaign_id, CampaignState.PAUSED, [CampaignState.RUNNING], "pause")

    def resume(self, campaign_id: str, *, max_cost_usd: float | None = None) -> Campaign:
        """Paused (by a person, or by itself: an auth error, a guard) -> running.

        The failure and opt-out guards count afresh from now (resuming after they
        paused it is deliberate); ``max_cost_usd`` raises (or sets) the spend cap.
        """
        campaign = self.campaign(campaign_id)
        guards = campaign.guards.resumed(self.clock.now())
        if max_cost_usd is not None:
            guards = replace(guards, max_cost_usd=max_cost_usd)
        if campaign.state == CampaignState.PAUSED or max_cost_usd is not None:
            self.store.set_caps(campaign_id, campaign.caps | {"guards": guards.to_dict()})
        return self._move(campaign_id, CampaignState.RUNNING, [CampaignState.PAUSED], "resume")

    def cancel(self, campaign_id: str) -> Campaign:
        """Stop for good: every recipient not yet texted is skipped as ``cancelled``.

        Recipients a live pump is sending finish there. Those an interrupted run left
        ``sending`` are settled from the ledger when no pump holds the location; a send
        that may have reached GHL waits for ``settle`` (which asks GHL) or the next pump.
        """
        campaign = self._move(
            campaign_id,
            CampaignState.CANCELLED,
            [CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED],
            "cancel",
        )
        self.store.cancel_open(campaign_id, CANCELLED_REASON)
        with self._holding(campaign.location_id) as held:
            if held:
                settle_known(
                    self.store.sending([campaign_id]),
                    store=self.store,
                    ledger=self.ledger,
                    cancelled={campaign_id},
                )
        return campaign

    async def cancel_and_settle(self, campaign_id: str) -> Cancelled:
        """``cancel``, then ``settle`` at once: sends an interrupted run left in flight
        are looked up in GHL (adopted, or marked not sent) instead of waiting for the
        next pump. For async callers (MCP, the CLI); GHL unreachable leaves them counted
        in ``unsettled``, for a later ``settle`` or pump."""
        campaign = self.cancel(campaign_id)
        try:
            unsettled = await self.settle(campaign_id)
        except GhlError as exc:
            logger.warning(
                "campaign %s cancelled; its interrupted sends wait: %s", campaign_id, exc
            )
            unsettled = len(self.store.sending([campaign_id]))
        return Cancelled(campaign=campaign, unsettled=unsettled)

    async def settle(self, campaign_id: str) -> int:
        """Settle a stopped campaign's interrupted sends, asking GHL about those that may
        have gone out (adopted, or marked not sent). Returns how many are still
        ``sending``: a live pump's (it finishes them) or those GHL couldn't be asked about.
        """
        campaign = self.campaign(campaign_id)
        if campaign.state == CampaignState.RUNNING or not self.store.sending([campaign_id]):
            return len(self.store.sending([campaign_id]))
        location = campaign.location_id
        with self._holding(location) as held:
            if held:
                async with self._service(location, self.pacer(location)) as service:
                    await settle_interrupted(
                        self.store.sending([campaign_id]),
                        store=self.store,
                        ledger=self.ledger,
                        service=service,
                        cancelled={campaign_id}
                        if campaign.state == CampaignState.CANCELLED
                        else set(),
                    )
        return len(self.store.sending([campaign_id]))

    @contextmanager
    def _holding(self, location_id: str) -> Iterator[bool]:
        """The location's lease for a moment (True), unless a live pump holds it."""
        owner = Owner.here()
        fence = self.leases.acquire(location_id, owner, self.clock.now(), self.config.lease_ttl)
        held = fence is not None
        try:
            yield held
        finally:
            if held:
                self.leases.release(location_id, owner)

    # --- running --------------------------------------------------------------------------

    async def run(
        self,
        campaign_ids: Sequence[str] | None = None,
        *,
        until: Until = "done",
        on_progress: ProgressCallback | None = None,
        dispatcher: Dispatcher | None = None,
    ) -> RunSummary:
        """Pump every location with running campaigns, one pump per location.

        ``campaign_ids`` limits what is waited for (a pump still serves every running
        campaign of its location). ``until``: ``done`` returns when those campaigns
        are no longer running (completed, paused or cancelled), waiting through
        quiet hours and daily caps; ``idle`` returns as soon as nothing is due;
        ``forever`` keeps looking for work. Locations another process is pumping are
        left to it and named in the summary.
        """
        watch = set(campaign_ids) if campaign_ids else None
        for campaign_id in watch or ():
            self.campaign(campaign_id)
        runner = Runner(self, watch, until, on_progress)
        if dispatcher is None:
            self._dispatcher = InProcessDispatcher(
                self.leases,
                self.clock,
                ttl=self.config.lease_ttl,
                poll=self.config.idle_poll,
                wait_for_busy=self.config.wait_for_busy,
                forever=until == "forever",
            )
            dispatcher = self._dispatcher
        try:
            busy = await dispatcher.run(runner)
        finally:
            self._dispatcher = None
        shown = watch or runner.seen
        return RunSummary(
            campaigns=[self.progress(c) for c in sorted(shown)],
            busy_locations={loc: info.describe() for loc, info in busy.items()},
        )

    # --- reading --------------------------------------------------------------------------

    def progress(self, campaign_id: str) -> CampaignProgress:
        """A progress snapshot read from the store (any process)."""
        campaign = self.campaign(campaign_id)
        return campaign_progress(self.store, campaign, self.config.rate_limits, self.clock.now())

    def status(self, campaign_id: str) -> CampaignStatus:
        """Counts by state and reason, the send rate over the last minute, time left."""
        campaign = self.campaign(campaign_id)
        return campaign_status(
            self.store, self.leases, campaign, self.config.rate_limits, self.clock.now()
        )

    def report(self, campaign_id: str) -> Iterator[ReportRow]:
        """Every recipient's outcome, who they turned out to be, the text they got, GHL's
        message id and the send requests it took, in list order (streamed)."""
        self.campaign(campaign_id)
        return self.store.report(campaign_id)
