"""Time left, from the limits that apply rather than from the last minute's rate.

A campaign's remaining recipients need GHL requests (a lookup and a send each, one more
to create the contact of a new number) under the location's request budget, messages
under its carrier caps, and some wait for a moment of their own (quiet hours, a daily
cap, a retry). The time left is the longest of those: the slowest limit decides.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable

from ghl_sms.ghl import RateLimits
from ghl_sms.ops.bulk.models import Campaign, CampaignProgress, Caps, RecipientState
from ghl_sms.ops.bulk.store import CampaignStore

__all__ = [
    "REQUESTS_PER_CONTACT",
    "REQUESTS_PER_NUMBER",
    "ProgressCallback",
    "Tally",
    "seconds_left",
]

ProgressCallback = Callable[[CampaignProgress], None]

REQUESTS_PER_CONTACT = 2
"""A recipient given by contact id: read the contact, send."""
REQUESTS_PER_NUMBER = 3
"""A recipient given by number: find (or create) the contact, send."""

_DAY = 86_400.0


def seconds_left(
    caps: Caps,
    limits: RateLimits,
    *,
    remaining: int,
    requests: float,
    waiting_until: float | None,
    now: float,
) -> float:
    """Seconds until ``remaining`` recipients are done, needing ``requests`` requests."""
    if remaining <= 0:
        return 0.0
    per_second = limits.burst / (limits.window * (1 + limits.margin))
    seconds = requests / per_second
    per_minute = [c for c in (caps.per_minute, caps.number_per_minute) if c]
    if per_minute:
        seconds = max(seconds, remaining / min(per_minute) * 60.0)
    per_day = [c for c in (caps.per_day, caps.number_per_day) if c]
    if per_day and remaining > min(per_day):
        # Each further day's share goes after a midnight.
        seconds = max(seconds, (math.ceil(remaining / min(per_day)) - 1) * _DAY)
    if waiting_until is not None and waiting_until > now:
        seconds = max(seconds, waiting_until - now)
    return seconds


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
