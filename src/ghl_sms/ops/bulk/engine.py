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
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.ghl import GhlClient, GhlError, RateLimits, RequestPacer
from ghl_sms.ops.bulk.budget import Budget, BudgetPacer, SqliteBudget, message_limit
from ghl_sms.ops.bulk.dispatcher import (
    Dispatcher,
    HeldLease,
    InProcessDispatcher,
    Leases,
    SqliteLeases,
)
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignSpec,
    CampaignState,
    CampaignStatus,
    NewRecipient,
    Preview,
    PreviewSample,
    ReasonCount,
    Recipient,
    RecipientState,
    RunSummary,
)
from ghl_sms.ops.bulk.pump import (
    ProgressCallback,
    Pump,
    PumpConfig,
    Tally,
    Until,
    recipient_request,
)
from ghl_sms.ops.bulk.sources import RecipientSource, normalize_phone
from ghl_sms.ops.bulk.store import CampaignStore, SqliteCampaignStore
from ghl_sms.ops.bulk.template import MissingFields, Template, merge_fields
from ghl_sms.ops.errors import PreflightBlocked, RecipientNotFound, UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig, SmsService
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.preflight import ReasonCode
from ghl_sms.rules.quiet_hours import check_quiet_hours, recipient_time
from ghl_sms.rules.segments import SegmentReport, count_segments

__all__ = [
    "BulkEngine",
    "CampaignNotFound",
    "CampaignStateError",
    "Connector",
    "EngineConfig",
]

logger = logging.getLogger("ghl_sms.ops.bulk")

Connector = Callable[[str, RequestPacer], AbstractAsyncContextManager[GhlClient]]
"""Opens a client for a location whose every request goes through ``pacer`` (the
location's request budget): ``async with connect(location_id, pacer) as client``."""

ImportCallback = Callable[[int], None]


class CampaignNotFound(UsageError):
    """No campaign with this id in this store."""


class CampaignStateError(UsageError):
    """The campaign can't do that in its current state (resume a completed one...)."""


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
            caps=spec.caps.to_dict(),
            max_attempts=spec.max_attempts,
            source=source.description,
            state=CampaignState.IMPORTING,
            created_at=now,
            updated_at=now,
        )
        self.store.create_campaign(campaign)
        try:
            total = await self._import(campaign, source, on_import)
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
        """What sending this campaign would do, computed locally; nothing is sent.

        With ``check_contacts`` each recipient's GHL contact is read (one request each,
        paced) so DND, unknown contacts and merge fields from the contact count too.
        """
        campaign = self.campaign(campaign_id)
        counts = self.store.counts(campaign_id)
        skipped: Counter[str] = Counter()
        examples: dict[str, str] = {}
        for (state, code), n in counts.items():
            if state == RecipientState.SKIPPED and code:
                skipped[code] += n
        acc = _PreviewTally(
            self, campaign, Template.parse(campaign.template), samples, skipped, examples
        )
        if check_contacts:
            async with self._service(campaign.location_id, self.pacer(campaign.location_id)) as svc:
                for row in self.store.iter_recipients(campaign_id, states=("pending", "deferred")):
                    await acc.checked(svc, row)
        else:
            for row in self.store.iter_recipients(campaign_id, states=("pending", "deferred")):
                acc.local(row)
        for code in skipped:
            if code not in examples:
                examples[code] = self.store.reason_example(campaign_id, "skipped", code) or ""
        return acc.result(check_contacts)

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

    def resume(self, campaign_id: str) -> Campaign:
        """Paused (by a person, or by itself after an auth error) -> running."""
        return self._move(campaign_id, CampaignState.RUNNING, [CampaignState.PAUSED], "resume")

    def cancel(self, campaign_id: str) -> Campaign:
        """Stop for good: every recipient not yet texted is skipped as ``cancelled``."""
        campaign = self._move(
            campaign_id,
            CampaignState.CANCELLED,
            [CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.PAUSED],
            "cancel",
        )
        self.store.cancel_open(
            campaign_id, "The campaign was cancelled before this recipient was texted."
        )
        return campaign

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
        counts = self.store.counts(campaign_id)
        tally = Tally([(state, n) for (state, _), n in counts.items()], campaign.total)
        snapshot = tally.snapshot(campaign, self.clock.now())
        rate = float(self.store.sent_since(campaign_id, self.clock.now() - 60.0))
        eta = snapshot.pending / rate * 60.0 if rate > 0 else snapshot.eta_seconds
        return snapshot.model_copy(update={"rate_per_minute": rate, "eta_seconds": eta})

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
        rate = float(self.store.sent_since(campaign_id, now - 60.0))
        remaining = by_state["pending"] + by_state["sending"] + by_state["deferred"]
        eta = remaining / rate * 60.0 if rate > 0 else (0.0 if remaining == 0 else None)
        due = self.store.next_due(campaign_id)
        holder = self.leases.holder(campaign.location_id, now)
        return CampaignStatus(
            campaign=campaign,
            counts={s: by_state[s] for s in [str(x) for x in RecipientState]},
            reasons=reasons,
            rate_per_minute=rate,
            eta_seconds=eta,
            next_due_at=_dt(due[0]) if due else None,
            active=holder is not None and campaign.state == CampaignState.RUNNING,
            worker=holder.describe() if holder else None,
        )

    def report(self, campaign_id: str) -> Iterator[Recipient]:
        """Every recipient's outcome and message id, in list order (streamed)."""
        self.campaign(campaign_id)
        return self.store.iter_recipients(campaign_id)


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


class _PreviewTally:
    """Accumulates the dry run over a stream of recipients (counters only)."""

    def __init__(
        self,
        engine: BulkEngine,
        campaign: Campaign,
        template: Template,
        samples: int,
        skipped: Counter[str],
        examples: dict[str, str],
    ) -> None:
        self.engine = engine
        self.campaign = campaign
        self.template = template
        self.want_samples = samples
        self.skipped = skipped
        self.examples = examples
        self.now = utc_datetime(engine.clock)
        self.would_send = 0
        self.quiet = 0
        self.from_contact = 0
        self.parts = 0
        self.max_parts = 0
        self.requests = 0
        self.cost = 0.0
        self.encodings: Counter[str] = Counter()
        self.samples: list[PreviewSample] = []
        self.missing_names: Counter[str] = Counter()
        self._segments: dict[str, SegmentReport] = {}
        self._quiet_by_prefix: dict[str, bool] = {}

    def _segments_of(self, text: str) -> SegmentReport:
        report = self._segments.get(text)
        if report is None:
            if len(self._segments) > 10_000:
                self._segments.clear()
            report = self._segments[text] = count_segments(text)
        return report

    def _in_quiet_hours(self, phone: str | None) -> bool:
        if self.campaign.transactional or not phone or not phone.startswith("+"):
            return False
        prefix = phone[:8]
        if prefix not in self._quiet_by_prefix:
            try:
                info = parse_phone(phone)
            except PhoneNumberError:
                return False
            check = check_quiet_hours(self.now, recipient_time(phone=info))
            self._quiet_by_prefix[prefix] = check.allowed is False
        return self._quiet_by_prefix[prefix]

    def _count(self, row: Recipient, text: str | None, estimate: str) -> None:
        self.would_send += 1
        report = self._segments_of(estimate)
        self.parts += report.segments
        self.max_parts = max(self.max_parts, report.segments)
        self.encodings[report.encoding] += 1
        config = self.engine.service_config
        if self.campaign.attachments:
            self.cost += config.mms_price * max(report.segments, 1)
        else:
            self.cost += config.sms_price_per_segment * report.segments
        self.requests += 2 if row.contact_id else 3
        if len(self.samples) < self.want_samples:
            self.samples.append(
                PreviewSample(
                    seq=row.seq,
                    to=row.phone,
                    contact_id=row.contact_id,
                    text=text,
                    segments=report.segments,
                    encoding=report.encoding,
                )
            )

    def local(self, row: Recipient) -> None:
        values = dict(row.fields)
        unfilled = [f.name for f in self.template.fields if not values.get(f.name)]
        missing = self.template.missing(values)
        if missing:
            self.from_contact += 1
            self.missing_names.update(missing)
        # A field the row doesn't fill comes from the GHL contact at send time (its
        # fallback only if the contact lacks it too): estimate it, show it as written.
        estimate = self.template.render(
            {**values, **{n: self.engine.config.estimate_placeholder for n in unfilled}}
        )
        text = self.template.display(values) if unfilled else estimate
        if self._in_quiet_hours(row.phone):
            self.quiet += 1
        self._count(row, text, estimate)

    def _skip(self, code: str, sentence: str) -> None:
        self.skipped[code] += 1
        self.examples.setdefault(code, sentence)

    async def checked(self, service: SmsService, row: Recipient) -> None:
        rendered: list[str] = []
        missing: list[tuple[str, ...]] = []

        def render(contact: Any) -> str:
            values = merge_fields(row.fields, contact)
            try:
                text = self.template.render(values)
            except MissingFields as exc:
                missing.append(exc.names)
                text = self.template.render(values, placeholder="")
            rendered.append(text)
            return text

        campaign = self.campaign
        request = recipient_request(campaign, row, render, dry_run=True)
        try:
            await service.send(request)
        except PreflightBlocked as exc:
            hard = [r for r in exc.verdict.reasons if r.level == "blocked"]
            if hard:
                self._skip(str(hard[0].code), hard[0].message)
                return
            self.quiet += 1
        except RecipientNotFound as exc:
            self._skip("contact_not_found", str(exc))
            return
        if missing:
            self._skip("missing_fields", str(MissingFields(missing[0])))
            return
        text = rendered[-1] if rendered else None
        self._count(row, text, text or campaign.template)

    def result(self, dnd_checked: bool) -> Preview:
        engine = self.engine
        campaign = self.campaign
        caps = campaign.caps_spec
        limits = engine.config.rate_limits
        per_second = limits.burst / (limits.window * (1 + limits.margin))
        duration = self.requests / per_second if self.requests else 0.0
        per_minute = [c for c in (caps.per_minute, caps.number_per_minute) if c]
        if per_minute and self.would_send:
            duration = max(duration, self.would_send / min(per_minute) * 60.0)
        warnings: list[str] = []
        if self.max_parts > 1:
            warnings.append(f"Messages take up to {self.max_parts} parts, each billed.")
        if self.encodings.get("UCS-2"):
            warnings.append(
                f"{self.encodings['UCS-2']} messages need Unicode (UCS-2): 70 characters a "
                "part instead of 160."
            )
        if self.quiet:
            what = (
                "wait for their next allowed moment"
                if campaign.quiet_hours == "defer"
                else ("are skipped")
            )
            warnings.append(f"{self.quiet} recipients are in their quiet hours now and {what}.")
        per_day = [c for c in (caps.per_day, caps.number_per_day) if c]
        if per_day and self.would_send > min(per_day):
            days = -(-self.would_send // min(per_day))
            warnings.append(
                f"The daily cap of {min(per_day)} spreads the campaign over {days} days."
            )
        if self.from_contact:
            names = ", ".join(n for n, _ in self.missing_names.most_common(3))
            warnings.append(
                f"{self.from_contact} recipients need {names} from their GHL contact; those "
                "whose contact lacks it are skipped."
            )
        if not dnd_checked:
            warnings.append(
                "DND is checked as each message is sent (check it now with --check-dnd: one "
                "request per recipient)."
            )
        skipped = [
            ReasonCount(state="skipped", code=code, count=n, example=self.examples.get(code))
            for code, n in self.skipped.most_common()
        ]
        return Preview(
            campaign_id=campaign.id,
            total=campaign.total,
            would_send=self.would_send,
            skipped=skipped,
            deferred_quiet_hours=self.quiet,
            fields_from_contact=self.from_contact,
            dnd_checked=dnd_checked,
            messages_parts=self.parts,
            max_parts=self.max_parts,
            encodings=dict(self.encodings),
            cost_estimate_usd=round(self.cost, 4),
            requests_estimate=self.requests + (2 if self.requests else 0),
            duration_estimate_seconds=round(duration, 1),
            samples=self.samples,
            warnings=warnings,
        )
