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
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.ghl import (
    ApiError,
    AuthenticationError,
    Contact,
    GhlError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
    RateLimits,
)
from ghl_sms.ops.bulk.budget import (
    MESSAGE_SLACK,
    Budget,
    BudgetPacer,
    CapReached,
    LeaseLost,
    Limit,
    day_bounds,
    message_limit,
)
from ghl_sms.ops.bulk.dispatcher import HeldLease
from ghl_sms.ops.bulk.guards import (
    DuplicateRecipient,
    GuardStore,
    SpendCapReached,
    health_problem,
)
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignState,
    RecipientState,
    SkipReason,
)
from ghl_sms.ops.bulk.models import Recipient as Row
from ghl_sms.ops.bulk.progress import REQUESTS_PER_CONTACT, REQUESTS_PER_NUMBER, seconds_left
from ghl_sms.ops.bulk.report import Resolved
from ghl_sms.ops.bulk.settle import settle_interrupted
from ghl_sms.ops.bulk.sources import normalize_phone
from ghl_sms.ops.bulk.store import CANCELLED_REASON, CampaignStore
from ghl_sms.ops.bulk.template import MissingFields, Template, merge_fields
from ghl_sms.ops.errors import (
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    SendInProgressError,
    UsageError,
)
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest, SmsService
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.preflight import ReasonCode
from ghl_sms.rules.quiet_hours import check_quiet_hours, recipient_time

__all__ = ["Pump", "PumpConfig", "Tally", "Until"]

logger = logging.getLogger("ghl_sms.ops.bulk")

Until = Literal["done", "idle", "forever"]
"""When a run stops: when its campaigns are no longer running (``done``), when nothing
is due right now (``idle``), or never (``forever``: a long-lived worker)."""

ProgressCallback = Callable[[CampaignProgress], None]


def recipient_request(
    campaign: Campaign, row: Row, render: Callable[[Contact | None], str], **extra: Any
) -> SendRequest:
    """The one send a recipient gets: under its own idempotency key, rendered from the
    contact, refused in quiet hours (the pump defers it), without the first-message
    lookup (a campaign spends its budget on sending)."""
    return SendRequest(
        text=campaign.template,
        render=render,
        contact_id=row.contact_id,
        to=None if row.contact_id else row.phone,
        idempotency_key=row.idempotency_key,
        campaign_id=campaign.id,
        transactional=campaign.transactional,
        check_first_message=False,
        from_number=campaign.from_number,
        attachments=tuple(campaign.attachments),
        block_quiet_hours=True,
        **extra,
    )


@dataclass(frozen=True, kw_only=True)
class PumpConfig:
    workers: int = 8
    """Concurrent sends per location: enough to keep its budget busy despite latency."""
    idle_poll: float = 5.0
    """Longest sleep while nothing is due, so a pause or cancel is seen promptly."""
    retry_base: float = 30.0
    """Backoff after a transient failure: this, doubled per attempt, up to ``retry_max``."""
    retry_max: float = 900.0


class _Stopped(Exception):
    """The campaign was paused or cancelled after this recipient was claimed."""


class _Late(Exception):
    """The carrier caps would send it after the campaign's deadline."""


class Tally:
    """A campaign's counts while it runs, kept in memory from one read of the store."""

    def __init__(
        self,
        counts: Iterable[tuple[str, int]],
        total: int,
        *,
        limits: RateLimits,
        requests_per_row: float = REQUESTS_PER_CONTACT,
    ) -> None:
        self.by_state: Counter[str] = Counter()
        for state, count in counts:
            self.by_state[state] += count
        self.total = total
        self.limits = limits
        self.requests_per_row = requests_per_row
        self._sent_at: deque[float] = deque()

    @classmethod
    def read(cls, store: CampaignStore, campaign: Campaign, limits: RateLimits) -> Tally:
        counts = store.counts(campaign.id)
        open_rows, by_number, _ = store.open_summary(campaign.id)
        per_row = (
            (by_number * REQUESTS_PER_NUMBER + (open_rows - by_number) * REQUESTS_PER_CONTACT)
            / open_rows
            if open_rows
            else REQUESTS_PER_CONTACT
        )
        per_state = [(state, n) for (state, _), n in counts.items()]
        return cls(per_state, campaign.total, limits=limits, requests_per_row=per_row)

    def move(self, old: str, new: str, now: float) -> None:
        self.by_state[old] -= 1
        self.by_state[new] += 1
        if new == RecipientState.SENT:
            self._sent_at.append(now)

    def rate_per_minute(self, now: float) -> float:
        while self._sent_at and self._sent_at[0] <= now - 60.0:
            self._sent_at.popleft()
        return float(len(self._sent_at))

    def snapshot(self, campaign: Campaign, now: float) -> CampaignProgress:
        s = self.by_state
        pending = s["pending"] + s["sending"] + s["deferred"]
        waiting = campaign.waiting_until.timestamp() if campaign.waiting_until else None
        eta = seconds_left(
            campaign.caps_spec,
            self.limits,
            remaining=pending,
            requests=pending * self.requests_per_row,
            waiting_until=waiting,
            now=now,
        )
        return CampaignProgress(
            campaign_id=campaign.id,
            state=campaign.state,
            total=self.total,
            sent=s["sent"],
            skipped=s["skipped"],
            failed=s["failed"],
            deferred=s["deferred"],
            pending=pending,
            rate_per_minute=self.rate_per_minute(now),
            eta_seconds=eta,
            waiting_reason=campaign.waiting_reason,
            waiting_until=campaign.waiting_until,
        )


class Pump:
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
        self._campaigns: dict[str, Campaign] = {}
        self._templates: dict[str, Template] = {}
        self._tallies: dict[str, Tally] = {}
        self._queued = 0
        self._in_flight: Counter[str] = Counter()
        self._wake = anyio.Event()
        self._default_sender: str | None = None
        self._outcomes: Counter[str] = Counter()
        self._resolved: dict[int, Resolved] = {}

    # --- the coordinator ------------------------------------------------------------------

    async def run(self) -> None:
        self.pacer.guard = self.lease.keep
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
                claimed = self.store.claim_due([c.id for c in running], now, free)
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

    def _set_waiting(self, campaign: Campaign, reason: str | None, until: float | None) -> None:
        current = campaign.waiting_until.timestamp() if campaign.waiting_until else None
        if campaign.waiting_reason == reason and current == until:
            return
        self.store.set_waiting(campaign.id, reason, until)
        updated = self.store.get_campaign(campaign.id)
        if updated is not None and campaign.id in self._campaigns:
            self._campaigns[campaign.id] = updated
            self._report(updated)

    def _report(self, campaign: Campaign) -> None:
        tally = self._tallies.get(campaign.id)
        if self.on_progress is not None and tally is not None:
            self.on_progress(tally.snapshot(campaign, self.clock.now()))

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

    def _finish(
        self,
        row: Row,
        state: RecipientState,
        *,
        code: str | None = None,
        reason: str | None = None,
        message_id: str | None = None,
        not_before: float | None = None,
        tried: bool = False,
    ) -> None:
        campaign = self._campaigns.get(row.campaign_id)
        expires_at = campaign.guards.expires_at if campaign is not None else None
        if (
            campaign is not None
            and state == RecipientState.DEFERRED
            and expires_at is not None
            and (not_before or 0.0) >= expires_at
        ):
            # It would wait past the campaign's deadline: it won't be texted at all.
            state, code, reason = (
                RecipientState.SKIPPED,
                str(SkipReason.EXPIRED),
                (f"{reason} That is after the campaign's deadline: {_expired_sentence(campaign)}"),
            )
            not_before = None
        self.store.finish(
            row.id,
            state,
            reason_code=code,
            reason=reason,
            message_id=message_id,
            not_before=not_before,
            tried=tried,
            resolved=self._resolved.pop(row.id, None),
        )
        tally = self._tallies.get(row.campaign_id)
        if tally is not None:
            tally.move(row.state, state, self.clock.now())
            if campaign is not None:
                self._report(campaign)
        if campaign is not None and state in (RecipientState.SENT, RecipientState.FAILED):
            self._check_health(campaign, failed=state == RecipientState.FAILED)

    def _release(self, row: Row) -> None:
        """Back to where it was before it was claimed (a pause, a lost lease)."""
        self.store.finish(
            row.id,
            row.state,
            reason_code=row.reason_code,
            reason=row.reason,
            resolved=self._resolved.pop(row.id, None),
        )

    async def _process(self, row: Row) -> None:
        campaign = self._campaigns.get(row.campaign_id)
        if campaign is None:
            current = self.store.get_campaign(row.campaign_id)
            if current is not None and current.state == CampaignState.CANCELLED:
                self._finish(
                    row,
                    RecipientState.SKIPPED,
                    code=str(SkipReason.CANCELLED),
                    reason=CANCELLED_REASON,
                )
            else:
                self._release(row)
            return
        if not self.lease.keep():
            self._release(row)
            return
        if self._expired(campaign):
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.EXPIRED),
                         reason=_expired_sentence(campaign))  # fmt: skip
            return
        quiet = self._quiet_until(campaign, row)
        if quiet is not None:
            # Known from the number alone: wait (or skip) without spending a request.
            self._in_quiet_hours(row, campaign, *quiet)
            return
        blocked = self._blocked_until(campaign)
        if blocked is not None:
            until, code, why = blocked
            self._hit_cap([campaign], until, code, why)
            self._finish(row, RecipientState.DEFERRED, code=code, reason=why, not_before=until)
            return
        missing: list[tuple[str, ...]] = []
        person: list[tuple[str | None, str | None]] = []
        template = self._templates[campaign.id]

        def render(contact: Contact | None) -> str:
            person[:] = [self._person(row, contact)]
            if contact is not None:  # for the report: who the row turned out to be
                self._resolved[row.id] = Resolved(*person[0], _contact_name(contact))
            values = merge_fields(row.fields, contact)
            try:
                return template.render(values)
            except MissingFields as exc:
                missing.append(exc.names)  # refused in the gate, after the preflight
                return template.render(values, placeholder="")

        async def gate(sender: str | None, parts: int) -> None:
            if missing:
                raise MissingFields(missing[0])
            current = self.store.get_campaign(campaign.id)
            if current is None or current.state != CampaignState.RUNNING:
                raise _Stopped  # paused or cancelled since it was claimed: send nothing
            self._claim_person(campaign, row, person[0] if person else (None, None), parts)
            await self._claim_caps(campaign, sender)

        def sending() -> None:
            self.store.count_attempt(row.id)

        request = recipient_request(campaign, row, render, gate=gate, on_request=sending)
        try:
            outcome = await self.service.send(request)
        except LeaseLost:
            # Another process holds the location now and settles this recipient.
            self._release(row)
            return
        except _Stopped:
            self._release(row)  # back to waiting; skipped if the campaign was cancelled
            return
        except _Late:
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.EXPIRED),
                         reason=_expired_sentence(campaign))  # fmt: skip
        except PreflightBlocked as exc:
            self._blocked(row, campaign, exc)
        except MissingFields as exc:
            self._finish(
                row, RecipientState.SKIPPED, code=str(SkipReason.MISSING_FIELDS), reason=str(exc)
            )
        except DuplicateRecipient as exc:
            self._finish(
                row,
                RecipientState.SKIPPED,
                code=str(SkipReason.DUPLICATE_RECIPIENT),
                reason=str(exc),
            )
        except SpendCapReached as exc:
            self._release(row)
            self._pause(campaign, str(exc))
        except RecipientNotFound as exc:
            self._finish(
                row, RecipientState.SKIPPED, code=str(SkipReason.CONTACT_NOT_FOUND), reason=str(exc)
            )
        except RepeatSendError as exc:
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.REPEAT), reason=str(exc))
        except SendInProgressError as exc:
            until = exc.record.lease_until or self.clock.now() + 60.0
            self._finish(
                row,
                RecipientState.DEFERRED,
                code=str(SkipReason.IN_PROGRESS),
                reason=str(exc),
                not_before=until,
            )
        except CapReached as exc:
            if exc.key == self.pacer.key:  # GHL's daily request limit, met in the gate
                self._ghl_daily_limit(row, exc.until)
            else:
                self._hit_cap([campaign], exc.until, str(SkipReason.DAILY_CAP), str(exc))
                self._finish(
                    row,
                    RecipientState.DEFERRED,
                    code=str(SkipReason.DAILY_CAP),
                    reason=str(exc),
                    not_before=exc.until,
                )
        except (SenderNotAvailable, AuthenticationError, PermissionDeniedError) as exc:
            # Every recipient would fail the same way: stop the campaign, keep the rest.
            self._release(row)
            self._pause(campaign, str(exc))
        except RateLimitError as exc:
            self._rate_limited(row, campaign, exc)
        except (InvalidRequestError, UsageError) as exc:
            self._finish(row, RecipientState.FAILED, code=str(SkipReason.REJECTED), reason=str(exc))
        except ApiError as exc:
            if exc.status_code < 500:
                self._finish(
                    row, RecipientState.FAILED, code=str(SkipReason.REJECTED), reason=str(exc)
                )
            else:
                self._retry(row, campaign, exc)
        except GhlError as exc:  # transport, a lost answer not yet settled, a bad body
            self._retry(row, campaign, exc)
        else:
            self._finish(row, RecipientState.SENT, message_id=outcome.message_id)
            if campaign.waiting_reason is not None:
                self._set_waiting(campaign, None, None)

    def _pause(self, campaign: Campaign, reason: str) -> None:
        paused = self.store.set_state(
            campaign.id, CampaignState.PAUSED, reason=reason, only_from=[CampaignState.RUNNING]
        )
        if paused is not None:
            logger.warning("campaign %s paused itself: %s", campaign.id, reason)

    def _check_health(self, campaign: Campaign, *, failed: bool) -> None:
        """After a failure, and every few sends (opt-outs arrive later), look at the
        campaign's recent outcomes; pause it when a guard's threshold is crossed."""
        self._outcomes[campaign.id] += 1
        if not failed and self._outcomes[campaign.id] % _HEALTH_EVERY:
            return
        guards = campaign.guards
        problem = health_problem(self.guards.health(campaign.id, self.location_id, guards), guards)
        if problem is not None:
            self._pause(campaign, problem)

    def _expired(self, campaign: Campaign) -> bool:
        expires_at = campaign.guards.expires_at
        return expires_at is not None and self.clock.now() >= expires_at

    def _expire(self, running: list[Campaign]) -> None:
        """Past its deadline, a campaign's waiting recipients are skipped at once."""
        for campaign in running:
            if self._expired(campaign):
                skipped = self.store.skip_open(
                    campaign.id, str(SkipReason.EXPIRED), _expired_sentence(campaign)
                )
                tally = self._tallies.get(campaign.id)
                if skipped and tally is not None:
                    self._tallies[campaign.id] = Tally.read(self.store, campaign, self.pacer.limits)

    # --- one person, one text; the spend cap -------------------------------------------

    def _person(self, row: Row, contact: Contact | None) -> tuple[str | None, str | None]:
        """The contact and E.164 number this row texts (a new number: just the number)."""
        if contact is None:
            return None, row.phone if row.phone and row.phone.startswith("+") else None
        region = self.service.config.default_region
        phone = normalize_phone(contact.phone, region) if contact.phone else None
        return contact.id, phone

    def _claim_person(
        self, campaign: Campaign, row: Row, person: tuple[str | None, str | None], parts: int
    ) -> None:
        """Claim the person for this row and book its cost, in one step; raises when an
        earlier row has them, or when the cost would cross the campaign's cap."""
        contact_id, phone = person
        prices = self.service.config
        if campaign.attachments:
            cost = prices.mms_price * max(parts, 1)
        else:
            cost = prices.sms_price_per_segment * parts
        guards = campaign.guards
        result = self.guards.claim(
            recipient_id=row.id,
            campaign_id=campaign.id,
            seq=row.seq,
            contact_id=contact_id,
            phone=phone,
            cost=cost,
            max_cost=guards.max_cost_usd,
        )
        if result.duplicate_of is not None:
            who = f"contact {contact_id}" if contact_id else (phone or "the same number")
            raise DuplicateRecipient(row.seq, result.duplicate_of, who)
        if result.over_budget:
            assert guards.max_cost_usd is not None
            raise SpendCapReached(result.spent_usd, cost, guards.max_cost_usd)

    def _blocked(self, row: Row, campaign: Campaign, blocked: PreflightBlocked) -> None:
        verdict = blocked.verdict
        hard = [r for r in verdict.reasons if r.level == "blocked"]
        if hard:
            self._finish(
                row, RecipientState.SKIPPED, code=str(hard[0].code), reason=hard[0].message
            )
            return
        quiet = next((r for r in verdict.reasons if r.code == ReasonCode.QUIET_HOURS), None)
        why = quiet.message if quiet else "The recipient is in their quiet hours."
        until = verdict.next_allowed_at.timestamp() if verdict.next_allowed_at else None
        self._in_quiet_hours(row, campaign, until, why)

    def _in_quiet_hours(self, row: Row, campaign: Campaign, until: float | None, why: str) -> None:
        if campaign.quiet_hours == "skip":
            self._finish(row, RecipientState.SKIPPED, code=str(ReasonCode.QUIET_HOURS), reason=why)
            return
        now = self.clock.now()
        self._finish(
            row,
            RecipientState.DEFERRED,
            code=str(ReasonCode.QUIET_HOURS),
            reason=why,
            not_before=max(until or now + 86_400.0, now + 1.0),
        )

    def _quiet_until(self, campaign: Campaign, row: Row) -> tuple[float | None, str] | None:
        """Quiet hours read from the row alone (its number, and a zone, state or country
        it carries): when they hold the recipient back, their next allowed moment.

        Only ever more careful than the send's preflight, which reads the GHL contact:
        a recipient this lets through is still checked there.
        """
        if campaign.transactional or not row.phone or not row.phone.startswith("+"):
            return None
        try:
            info = parse_phone(row.phone, self.service.config.default_region)
        except PhoneNumberError:
            return None
        fields = row.fields
        recipient = recipient_time(
            contact_timezone=fields.get("timezone"),
            contact_state=fields.get("state"),
            contact_country=fields.get("country"),
            phone=info,
        )
        check = check_quiet_hours(utc_datetime(self.clock), recipient)
        if check.allowed is not False:
            return None
        local = ", ".join(f"{t:%a %H:%M %Z}" for t in check.local_times)
        until = check.next_allowed_at
        when = f"waiting until {until:%Y-%m-%d %H:%M} UTC" if until else "no allowed time soon"
        why = (
            f"It is {local} for the recipient, outside the allowed hours "
            f"({recipient.window.describe()}); {when}."
        )
        return (until.timestamp() if until else None), why

    def _retry(
        self,
        row: Row,
        campaign: Campaign,
        error: GhlError,
        *,
        code: str = str(SkipReason.RETRY),
        delay: float | None = None,
    ) -> None:
        """A transient failure: try again later, up to the campaign's ``max_attempts``."""
        tries = row.tries + 1
        if tries >= campaign.max_attempts:
            self._finish(
                row,
                RecipientState.FAILED,
                code=code,
                reason=f"Gave up after {tries} failed tr{'y' if tries == 1 else 'ies'}: {error}",
                tried=True,
            )
            return
        if delay is None:
            delay = min(self.config.retry_base * 2 ** (tries - 1), self.config.retry_max)
        self._finish(
            row,
            RecipientState.DEFERRED,
            code=code,
            reason=f"Try {tries} of {campaign.max_attempts} failed ({error}); trying again.",
            not_before=self.clock.now() + delay,
            tried=True,
        )

    def _rate_limited(self, row: Row, campaign: Campaign, error: RateLimitError) -> None:
        if error.daily_exhausted:
            now = self.clock.now()
            self._ghl_daily_limit(row, self.pacer.blocked_until or day_bounds(now, None)[1])
            return
        # The client already waited and retried; the pacer has booked the window GHL
        # says is full, so every worker of the location backs off with this one.
        self._retry(
            row,
            campaign,
            error,
            code=str(SkipReason.RATE_LIMITED),
            delay=self.pacer.limits.window * 2,
        )

    def _ghl_daily_limit(self, row: Row, until: float) -> None:
        """GHL's daily request limit: every campaign of the location waits for it."""
        self.budget.block(self.pacer.key, until)
        why = "GHL's daily request limit for this location is used up; sending resumes then."
        code = str(SkipReason.GHL_DAILY_LIMIT)
        self._hit_cap(list(self._campaigns.values()), until, code, why)
        self._finish(row, RecipientState.DEFERRED, code=code, reason=why, not_before=until)

    # --- carrier caps ---------------------------------------------------------------------

    def _zone(self, campaign: Campaign) -> str | None:
        return campaign.caps_spec.day_timezone or self.location_zone

    def _cap_limits(self, campaign: Campaign, sender: str | None) -> list[tuple[str, Limit]]:
        caps = campaign.caps_spec
        zone = self._zone(campaign)
        limits: list[tuple[str, Limit]] = []
        location = message_limit(caps.per_minute, caps.per_day, zone)
        if location is not None:
            limits.append((f"msg:{self.location_id}", location))
        number = message_limit(caps.number_per_minute, caps.number_per_day, zone)
        if number is not None:
            limits.append((f"msg:{self.location_id}:{sender or 'default'}", number))
        return limits

    def _blocked_until(self, campaign: Campaign) -> tuple[float, str, str] | None:
        """A daily limit already reached, found without spending a request on it."""
        now = self.clock.now()
        ghl = self.budget.blocked_until(self.pacer.key, self.pacer.limit, now)
        if ghl is not None:
            return (
                ghl,
                str(SkipReason.GHL_DAILY_LIMIT),
                "GHL's daily request limit for this location is used up; sending resumes then.",
            )
        sender = campaign.from_number or self._default_sender
        for key, limit in self._cap_limits(campaign, sender):
            until = self.budget.blocked_until(key, limit, now)
            if until is not None:
                return until, str(SkipReason.DAILY_CAP), _cap_sentence(key, until)
        return None

    async def _claim_caps(self, campaign: Campaign, sender: str | None) -> None:
        """Take the send's message slots under the carrier caps, and its request slot.

        Both are reserved here, before anything is recorded, and tied together: the
        request slot is prepaid (the client's next request takes it) and lies at most
        ``MESSAGE_SLACK`` after the message slots, so a send never goes out early for
        its caps and never late enough to crowd a later minute. A daily cap reached
        raises ``CapReached`` and nothing is kept.
        """
        limits = self._cap_limits(campaign, sender)
        if not limits:
            return  # the client's own acquire() paces the request
        if campaign.from_number is None and sender is not None:
            self._default_sender = sender
        request_at = self.pacer.prepay(self.clock.now())
        for _ in range(8):
            taken: list[tuple[str, float]] = []
            try:
                for key, limit in limits:
                    taken.append((key, self.budget.reserve(key, limit, request_at)))
            except CapReached:
                for key, at in taken:
                    self.budget.refund(key, at)
                self.pacer.cancel_prepaid()
                raise
            message_at = max(at for _, at in taken)
            if message_at <= request_at <= message_at + MESSAGE_SLACK:
                expires_at = campaign.guards.expires_at
                if expires_at is not None and request_at >= expires_at:
                    # Its slot under the caps comes after the deadline: too late to go.
                    for key, at in taken:
                        self.budget.refund(key, at)
                    self.pacer.cancel_prepaid()
                    raise _Late
                return
            # The caps put the message later than its request slot: move the request.
            for key, at in taken:
                self.budget.refund(key, at)
            request_at = self.pacer.prepay(message_at)
        raise AssertionError("message and request slots did not converge")  # pragma: no cover

    def _hit_cap(self, campaigns: list[Campaign], until: float, code: str, why: str) -> None:
        """A daily limit: everyone due before ``until`` waits for it (not failed)."""
        now = self.clock.now()
        for campaign in campaigns:
            was_pending = self.store.defer_due(campaign.id, until, code, why, now)
            tally = self._tallies.get(campaign.id)
            if tally is not None:
                tally.by_state["pending"] -= was_pending
                tally.by_state["deferred"] += was_pending
            self._set_waiting(campaign, code, until)


_HEALTH_EVERY = 25
"""Sends between two looks at a campaign's opt-out rate (failures look at once)."""


def _contact_name(contact: Contact) -> str | None:
    full = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return (contact.name or full or "").strip() or None


def _expired_sentence(campaign: Campaign) -> str:
    expires_at = campaign.guards.expires_at or 0.0
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Not texted by the campaign's deadline ({when}); it would arrive too late."


def _cap_sentence(key: str, until: float) -> str:
    when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = "the sending number's" if key.count(":") >= 2 else "the location's"
    return f"Reached {what} daily message cap; the campaign continues at {when}."
