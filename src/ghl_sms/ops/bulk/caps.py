"""Carrier caps: the messages a minute and a day a location, or one of its sending
numbers, may send (``--per-minute``, ``--per-day``, ``--number-per-*``).

Every message claims its slots under the caps that apply, tied to the request slot it
will use from the location's budget, before anything is recorded; a daily cap reached
is found here without spending a request on it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk.budget import (
    MESSAGE_SLACK,
    Budget,
    BudgetPacer,
    CapReached,
    Limit,
    message_limit,
)
from ghl_sms.ops.bulk.models import Campaign, SkipReason

__all__ = ["CarrierCaps", "LateForDeadline", "cap_sentence"]


class LateForDeadline(Exception):
    """The carrier caps would send it after the campaign's deadline."""


class CarrierCaps:
    """A location's carrier caps over the shared budget (``Budget``)."""

    def __init__(
        self,
        *,
        location_id: str,
        budget: Budget,
        pacer: BudgetPacer,
        clock: Clock,
        location_zone: str | None,
    ) -> None:
        self.location_id = location_id
        self.budget = budget
        self.pacer = pacer
        self.clock = clock
        self.location_zone = location_zone
        self.default_sender: str | None = None
        """The location's default number, once a send has said which it is."""

    def zone(self, campaign: Campaign) -> str | None:
        return campaign.caps_spec.day_timezone or self.location_zone

    def limits(self, campaign: Campaign, sender: str | None) -> list[tuple[str, Limit]]:
        caps = campaign.caps_spec
        zone = self.zone(campaign)
        limits: list[tuple[str, Limit]] = []
        location = message_limit(caps.per_minute, caps.per_day, zone)
        if location is not None:
            limits.append((f"msg:{self.location_id}", location))
        number = message_limit(caps.number_per_minute, caps.number_per_day, zone)
        if number is not None:
            limits.append((f"msg:{self.location_id}:{sender or 'default'}", number))
        return limits

    def blocked_until(self, campaign: Campaign) -> tuple[float, str, str] | None:
        """A daily limit already reached, found without spending a request on it."""
        now = self.clock.now()
        ghl = self.budget.blocked_until(self.pacer.key, self.pacer.limit, now)
        if ghl is not None:
            return (
                ghl,
                str(SkipReason.GHL_DAILY_LIMIT),
                "GHL's daily request limit for this location is used up; sending resumes then.",
            )
        sender = campaign.from_number or self.default_sender
        for key, limit in self.limits(campaign, sender):
            until = self.budget.blocked_until(key, limit, now)
            if until is not None:
                return until, str(SkipReason.DAILY_CAP), cap_sentence(key, until)
        return None

    async def claim(self, campaign: Campaign, sender: str | None) -> None:
        """Take the send's message slots under the carrier caps, and its request slot.

        Both are reserved here, before anything is recorded, and tied together: the
        request slot is prepaid (the client's next request takes it) and lies at most
        ``MESSAGE_SLACK`` after the message slots, so a send never goes out early for
        its caps and never late enough to crowd a later minute. A daily cap reached
        raises ``CapReached`` and nothing is kept.
        """
        limits = self.limits(campaign, sender)
        if not limits:
            return  # the client's own acquire() paces the request
        if campaign.from_number is None and sender is not None:
            self.default_sender = sender
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
                    raise LateForDeadline
                return
            # The caps put the message later than its request slot: move the request.
            for key, at in taken:
                self.budget.refund(key, at)
            request_at = self.pacer.prepay(message_at)
        raise AssertionError("message and request slots did not converge")  # pragma: no cover


def cap_sentence(key: str, until: float) -> str:
    when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = "the sending number's" if key.count(":") >= 2 else "the location's"
    return f"Reached {what} daily message cap; the campaign continues at {when}."
