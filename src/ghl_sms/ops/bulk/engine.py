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
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, cast

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.ghl import GhlClient, GhlError, RateLimits, RequestPacer
from ghl_sms.ops.bulk.budget import Budget, BudgetPacer, SqliteBudget, message_limit
from ghl_sms.ops.bulk.dispatcher import (
    Dispatcher,
    HeldLease,
    InProcessDispatcher,
    Leases,
    Owner,
    SqliteLeases,
)
from ghl_sms.ops.bulk.guards import GuardStore, SqliteGuardStore
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    NewRecipient,
    Preview,
    ReasonCount,
    RecipientState,
    RunSummary,
)
from ghl_sms.ops.bulk.preview import PreviewTally, run_preview
from ghl_sms.ops.bulk.progress import REQUESTS_PER_CONTACT, REQUESTS_PER_NUMBER, seconds_left
from ghl_sms.ops.bulk.pump import ProgressCallback, Pump, PumpConfig, Tally, Until
from ghl_sms.ops.bulk.report import ReportRow
from ghl_sms.ops.bulk.settle import settle_interrupted, settle_known
from ghl_sms.ops.bulk.sources import RecipientSource, normalize_phone
from ghl_sms.ops.bulk.store import CANCELLED_REASON, CampaignStore, SqliteCampaignStore
from ghl_sms.ops.bulk.template import Template
from ghl_sms.ops.errors import OpsError, UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig, SmsService
from ghl_sms.rules.preflight import ReasonCode

__all__ = [
    "BulkEngine",
    "CampaignNotFound",
    "CampaignStateError",
    "Connector",
    "EngineConfig",
    "NoRecipients",
]

logger = logging.getLogger("ghl_sms.ops.bulk")

Connector = Callable[[str, RequestPacer], AbstractAsyncContextManager[GhlClient]]
"""Opens a client for a location whose every request goes through ``pacer`` (the
location's request budget): ``async with connect(location_id, pacer) as client``."""

ImportCallback = Callable[[int], None]


class CampaignNotFound(OpsError):
    """No campaign with this id in this store: like any unknown id, a failure (the CLI
    exits 1), not a usage error."""


class CampaignStateError(UsageError):
    """The campaign can't do that in its current state (resume a completed one...)."""


class NoRecipients(UsageError):
    """The source gave nobody to text (an unknown tag, an empty list): nothing is created."""


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    workers: int = 8
    """Concurrent sends per location."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """GHL's request limits per location; the headers can only make them stricter."""
    lease_ttl: float = 30.0
    idle_poll: float = 5.0
    retry_base: float = 30.0
    retry_max: float = 900.0
    import_batch: int = 1000
    default_region: str = "US"
    estimate_placeholder: str = "xxxxxxxx"
    """Stands in for merge fields only GHL knows, in the dry run's part counts."""
    wait_for_busy: bool = False
    """``run`` waits for locations another process is pumping instead of leaving them."""


def _dt(instant: float | None) -> datetime | None:
    return None if instant is None else datetime.fromtimestamp(instant, UTC)


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
        """The default engine: store, budget and leases in the ledger's SQLite file."""
        db = ledger.db
        return cls(
            store=SqliteCampaignStore(db, clock),
            guards=SqliteGuardStore(db, clock),
            ledger=ledger,
            budget=SqliteBudget(db),
            leases=SqliteLeases(db),
            connect=connect,
            clock=clock,
            config=config,
            service_config=service_config,
        )

    # --- clients --------------------------------------------------------------------------

    def pacer(self, location_id: str) -> BudgetPacer:
        """The pacer every request of this location goes through."""
        return BudgetPacer(self.budget, f"req:{location_id}", self.clock, self.config.rate_limits)

    @asynccontextmanager
    async def _service(self, location_id: str, pacer: BudgetPacer) -> AsyncIterator[SmsService]:
        async with self.connect(location_id, pacer) as client:
            yield SmsService(client, self.ledger, clock=self.clock, config=self.service_config)

    async def _location_zone(self, location_id: str, client: GhlClient) -> str | None:
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
        template = self._check_spec(spec)
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
            caps=spec.caps.to_dict() | {"guards": spec.guards.to_dict()},
            max_attempts=spec.max_attempts,
            source=source.description,
            state=CampaignState.IMPORTING,
            created_at=now,
            updated_at=now,
        )
        self.store.create_campaign(campaign)
        try:
            total = await self._import(campaign, source, on_import)
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

    def _check_spec(self, spec: CampaignSpec) -> Template:
        if not spec.location_id.strip():
            raise UsageError("A campaign needs a location id.")
        if not spec.template.strip():
            raise UsageError("The message template is empty.")
        template = Template.parse(spec.template)
        if spec.quiet_hours not in ("defer", "skip"):
            raise UsageError("quiet_hours must be 'defer' or 'skip'.")
        if spec.max_attempts < 1:
            raise UsageError("max_attempts must be at least 1.")
        caps = spec.caps
        message_limit(caps.per_minute, caps.per_day, caps.day_timezone)
        message_limit(caps.number_per_minute, caps.number_per_day, caps.day_timezone)
        return template

    async def _import(
        self, campaign: Campaign, source: RecipientSource, on_import: ImportCallback | None
    ) -> int:
        location = campaign.location_id
        pacer = self.pacer(location)

        def open_client() -> AbstractAsyncContextManager[GhlClient]:
            return self.connect(location, pacer)

        batch: list[NewRecipient] = []
        seq = 0
        async for row in source.rows(open_client, self.config.default_region):
            batch.append(self._screen(location, row))
            if len(batch) >= self.config.import_batch:
                self.store.add_recipients(campaign.id, seq + 1, batch)
                seq += len(batch)
                batch = []
                if on_import is not None:
                    on_import(seq)
        if batch:
            self.store.add_recipients(campaign.id, seq + 1, batch)
            seq += len(batch)
        if on_import is not None:
            on_import(seq)
        return seq

    def _screen(self, location_id: str, row: NewRecipient) -> NewRecipient:
        if row.skip is not None:
            return row
        phone = row.phone if row.phone and row.phone.startswith("+") else None
        opt_out = self.ledger.opt_out_for(location_id, phone=phone, contact_id=row.contact_id)
        if opt_out is None:
            return row
        return NewRecipient(
            row.contact_id,
            row.phone,
            row.fields,
            (
                str(ReasonCode.OPTED_OUT),
                "The contact opted out of texts; they must text START before you text them again.",
            ),
        )

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
        moved = self.store.set_state(campaign_id, state, only_from=allowed)
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
        held = self.leases.acquire(location_id, owner, self.clock.now(), self.config.lease_ttl)
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
        runner = _Runner(self, watch, until, on_progress)
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

    async def _pump(
        self,
        location_id: str,
        lease: HeldLease,
        watch: set[str] | None,
        until: Until,
        on_progress: ProgressCallback | None,
    ) -> None:
        pacer = self.pacer(location_id)
        async with self.connect(location_id, pacer) as client:
            service = SmsService(client, self.ledger, clock=self.clock, config=self.service_config)
            zone = None
            running = self.store.running_campaigns(location_id)
            if any(c.caps_spec.per_day or c.caps_spec.number_per_day for c in running):
                zone = await self._location_zone(location_id, client)
            pump = Pump(
                location_id=location_id,
                store=self.store,
                guards=self.guards,
                ledger=self.ledger,
                service=service,
                budget=self.budget,
                pacer=pacer,
                clock=self.clock,
                lease=lease,
                config=PumpConfig(
                    workers=self.config.workers,
                    idle_poll=self.config.idle_poll,
                    retry_base=self.config.retry_base,
                    retry_max=self.config.retry_max,
                ),
                until=until,
                watch=watch,
                on_progress=on_progress,
                location_zone=zone,
            )
            await pump.run()

    # --- reading --------------------------------------------------------------------------

    def progress(self, campaign_id: str) -> CampaignProgress:
        """A progress snapshot read from the store (any process)."""
        campaign = self.campaign(campaign_id)
        now = self.clock.now()
        snapshot = Tally.read(self.store, campaign, self.config.rate_limits).snapshot(campaign, now)
        rate = float(self.store.sent_since(campaign_id, now - 60.0))
        return snapshot.model_copy(
            update={"rate_per_minute": rate, "eta_seconds": self._time_left(campaign, now)}
        )

    def _time_left(self, campaign: Campaign, now: float) -> float | None:
        """From the caps, the request budget and the recipients' own waits; None while
        the campaign is not running (nothing moves until it is)."""
        open_rows, by_number, latest_due = self.store.open_summary(campaign.id)
        if open_rows == 0:
            return 0.0
        if campaign.state != CampaignState.RUNNING:
            return None
        requests = by_number * REQUESTS_PER_NUMBER + (open_rows - by_number) * (
            REQUESTS_PER_CONTACT
        )
        return seconds_left(
            campaign.caps_spec,
            self.config.rate_limits,
            remaining=open_rows,
            requests=requests,
            waiting_until=latest_due,
            now=now,
        )

    def status(self, campaign_id: str) -> CampaignStatus:
        """Counts by state and reason, the send rate over the last minute, time left."""
        campaign = self.campaign(campaign_id)
        now = self.clock.now()
        by_state: Counter[str] = Counter()
        reasons: list[ReasonCount] = []
        for (state, code), n in sorted(
            self.store.counts(campaign_id).items(), key=lambda kv: (-kv[1], kv[0][0])
        ):
            by_state[state] += n
            if state in ("skipped", "failed", "deferred") and code:
                reasons.append(
                    ReasonCount(
                        state=cast(Literal["skipped", "failed", "deferred"], state),
                        code=code,
                        count=n,
                        example=self.store.reason_example(campaign_id, state, code),
                    )
                )
        holder = self.leases.holder(campaign.location_id, now)
        active = holder is not None and campaign.state == CampaignState.RUNNING
        interrupted = 0
        if holder is None and by_state["sending"]:
            # Nobody is sending them: a stopped run left them mid-send.
            interrupted, by_state["sending"] = by_state["sending"], 0
        due = self.store.next_due(campaign_id)
        return CampaignStatus(
            campaign=campaign,
            counts={s: by_state[s] for s in [str(x) for x in RecipientState]},
            interrupted=interrupted,
            reasons=reasons,
            rate_per_minute=float(self.store.sent_since(campaign_id, now - 60.0)),
            eta_seconds=self._time_left(campaign, now),
            next_due_at=_dt(due[0]) if due and due[0] > now else None,
            active=active,
            worker=holder.describe() if holder else None,
        )

    def report(self, campaign_id: str) -> Iterator[ReportRow]:
        """Every recipient's outcome, who they turned out to be, the text they got, GHL's
        message id and the send requests it took, in list order (streamed)."""
        self.campaign(campaign_id)
        return self.store.report(campaign_id)


class _Runner:
    """The engine's side of a dispatch (``dispatcher.PumpRunner``)."""

    def __init__(
        self,
        engine: BulkEngine,
        watch: set[str] | None,
        until: Until,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.engine = engine
        self.watch = watch
        self.until = until
        self.on_progress = on_progress
        self.seen: set[str] = set()
        self._idle: set[str] = set()

    def _watched(self) -> list[Campaign]:
        store = self.engine.store
        return [c for c in (store.get_campaign(i) for i in self.watch or ()) if c is not None]

    def locations(self) -> list[str]:
        store = self.engine.store
        if self.watch is not None and self.until != "forever":
            running = {c.location_id for c in self._watched() if c.state == CampaignState.RUNNING}
            locations = sorted(running)
        else:
            locations = store.locations_with_running()
            for location_id in locations:
                self.seen.update(c.id for c in store.running_campaigns(location_id))
        # With until="idle" a location whose pump ran out of due work is done for this run.
        return [loc for loc in locations if loc not in self._idle]

    def finished(self) -> bool:
        if self.until == "forever":
            return False
        if self.until == "idle":
            return True
        if self.watch is not None:
            return all(c.state != CampaignState.RUNNING for c in self._watched())
        return not self.engine.store.locations_with_running()

    async def pump(self, location_id: str, lease: HeldLease) -> None:
        await self.engine._pump(location_id, lease, self.watch, self.until, self.on_progress)
        if self.until == "idle" and not lease.lost:
            self._idle.add(location_id)
