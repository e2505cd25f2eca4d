"""What ``bulk status`` and progress read: counts by state and reason, the send rate,
time left, who is sending. Store reads only, so they work from any process."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Literal, cast

from ghl_sms.ghl import RateLimits
from ghl_sms.ops.bulk.dispatcher import Leases
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignProgress,
    CampaignState,
    CampaignStatus,
    ReasonCount,
    RecipientState,
)
from ghl_sms.ops.bulk.progress import (
    REQUESTS_PER_CONTACT,
    REQUESTS_PER_NUMBER,
    Tally,
    seconds_left,
)
from ghl_sms.ops.bulk.store import CampaignStore

__all__ = ["campaign_progress", "campaign_status", "time_left"]


def _dt(instant: float | None) -> datetime | None:
    return None if instant is None else datetime.fromtimestamp(instant, UTC)


def campaign_progress(
    store: CampaignStore, campaign: Campaign, limits: RateLimits, now: float
) -> CampaignProgress:
    """A progress snapshot read from the store (any process)."""
    snapshot = Tally.read(store, campaign, limits).snapshot(campaign, now)
    rate = float(store.sent_since(campaign.id, now - 60.0))
    return snapshot.model_copy(
        update={"rate_per_minute": rate, "eta_seconds": time_left(store, campaign, limits, now)}
    )


def time_left(
    store: CampaignStore, campaign: Campaign, limits: RateLimits, now: float
) -> float | None:
    """From the caps, the request budget and the recipients' own waits; None while
    the campaign is not running (nothing moves until it is)."""
    open_rows, by_number, latest_due = store.open_summary(campaign.id)
    if open_rows == 0:
        return 0.0
    if campaign.state != CampaignState.RUNNING:
        return None
    requests = by_number * REQUESTS_PER_NUMBER + (open_rows - by_number) * REQUESTS_PER_CONTACT
    return seconds_left(
        campaign.caps_spec,
        limits,
        remaining=open_rows,
        requests=requests,
        waiting_until=latest_due,
        now=now,
    )


def campaign_status(
    store: CampaignStore, leases: Leases, campaign: Campaign, limits: RateLimits, now: float
) -> CampaignStatus:
    """Counts by state and reason, the send rate over the last minute, time left."""
    campaign_id = campaign.id
    by_state: Counter[str] = Counter()
    reasons: list[ReasonCount] = []
    for (state, code), n in sorted(
        store.counts(campaign_id).items(), key=lambda kv: (-kv[1], kv[0][0])
    ):
        by_state[state] += n
        if state in ("skipped", "failed", "deferred") and code:
            reasons.append(
                ReasonCount(
                    state=cast(Literal["skipped", "failed", "deferred"], state),
                    code=code,
                    count=n,
                    example=store.reason_example(campaign_id, state, code),
                )
            )
    holder = leases.holder(campaign.location_id, now)
    active = holder is not None and campaign.state == CampaignState.RUNNING
    interrupted = 0
    if holder is None and by_state["sending"]:
        # Nobody is sending them: a stopped run left them mid-send.
        interrupted, by_state["sending"] = by_state["sending"], 0
    due = store.next_due(campaign_id)
    return CampaignStatus(
        campaign=campaign,
        counts={s: by_state[s] for s in [str(x) for x in RecipientState]},
        interrupted=interrupted,
        reasons=reasons,
        rate_per_minute=float(store.sent_since(campaign_id, now - 60.0)),
        eta_seconds=time_left(store, campaign, limits, now),
        next_due_at=_dt(due[0]) if due and due[0] > now else None,
        active=active,
        worker=holder.describe() if holder else None,
    )
