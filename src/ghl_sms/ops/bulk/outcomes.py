"""What happens to a recipient, once its send was tried: each outcome recorded in the
store and the tally, and what it means for the campaign (a pause, a wait for a daily
cap or GHL's daily limit, a retry with backoff, quiet hours, the health guards).

``Outcomes`` is the part of the pump (``pump.Pump``) that records outcomes; the send
path (``recipient.RecipientPath``) builds on it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.ghl import GhlError, RateLimitError
from ghl_sms.ops.bulk.budget import Budget, BudgetPacer, day_bounds
from ghl_sms.ops.bulk.caps import CarrierCaps
from ghl_sms.ops.bulk.dispatcher import HeldLease
from ghl_sms.ops.bulk.guards import GuardStore, health_problem
from ghl_sms.ops.bulk.models import Campaign, CampaignState, RecipientState, SkipReason
from ghl_sms.ops.bulk.models import Recipient as Row
from ghl_sms.ops.bulk.progress import ProgressCallback, Tally
from ghl_sms.ops.bulk.report import Resolved
from ghl_sms.ops.bulk.store import CampaignStore
from ghl_sms.ops.bulk.template import Template
from ghl_sms.ops.errors import PreflightBlocked
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SmsService
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.preflight import ReasonCode
from ghl_sms.rules.quiet_hours import check_quiet_hours, recipient_time
from ghl_sms.rules.send_window import apply_send_window, describe_hours

__all__ = ["Outcomes", "PumpConfig", "expired_sentence"]

logger = logging.getLogger("ghl_sms.ops.bulk")


@dataclass(frozen=True, kw_only=True)
class PumpConfig:
    workers: int = 8
    """Concurrent sends per location: enough to keep its budget busy despite latency."""
    idle_poll: float = 5.0
    """Longest sleep while nothing is due, so a pause or cancel is seen promptly."""
    retry_base: float = 30.0
    """Backoff after a transient failure: this, doubled per attempt, up to ``retry_max``."""
    retry_max: float = 900.0


class Outcomes:
    """Records recipients' outcomes and the campaign's reactions to them."""

    # The pump's state, set by ``Pump.__init__``.
    location_id: str
    store: CampaignStore
    guards: GuardStore
    ledger: Ledger
    service: SmsService
    budget: Budget
    pacer: BudgetPacer
    clock: Clock
    lease: HeldLease
    config: PumpConfig
    caps: CarrierCaps
    on_progress: ProgressCallback | None
    _campaigns: dict[str, Campaign]
    _templates: dict[str, Template]
    _tallies: dict[str, Tally]
    _outcomes: Counter[str]
    _resolved: dict[int, Resolved]

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
                (f"{reason} That is after the campaign's deadline: {expired_sentence(campaign)}"),
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
            fence=self.lease.fence,
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
            fence=self.lease.fence,
        )

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
        """Quiet hours (and the campaign's send window) read from the row alone (its
        number, and a zone, state or country it carries): when they hold the recipient
        back, their next allowed moment.

        Only ever more careful than the send's preflight, which reads the GHL contact:
        a recipient this lets through is still checked there.
        """
        send_window = campaign.send_window_spec
        if campaign.transactional and send_window is None:
            return None
        if not row.phone or not row.phone.startswith("+"):
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
        recipient = apply_send_window(recipient, send_window, transactional=campaign.transactional)
        check = check_quiet_hours(utc_datetime(self.clock), recipient)
        if check.allowed is not False:
            return None
        local = ", ".join(f"{t:%a %H:%M %Z}" for t in check.local_times)
        until = check.next_allowed_at
        when = f"waiting until {until:%Y-%m-%d %H:%M} UTC" if until else "no allowed time soon"
        hours = describe_hours(recipient, send_window, transactional=campaign.transactional)
        why = f"It is {local} for the recipient, outside the allowed hours ({hours}); {when}."

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


def expired_sentence(campaign: Campaign) -> str:
    expires_at = campaign.guards.expires_at or 0.0
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Not texted by the campaign's deadline ({when}); it would arrive too late."
