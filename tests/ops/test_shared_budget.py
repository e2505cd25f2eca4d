"""Interactive sends claim the location's request budget in the ledger's database, the
one a campaign's pumps claim from, on SQLite and PostgreSQL: a person texting during a
campaign waits for a slot instead of pushing the location over GHL's limit."""

from __future__ import annotations

import bisect

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import RateLimits, SlidingWindowPacer
from ghl_sms.ops.bulk.budget import BudgetPacer, SqlBudget, request_limit
from ghl_sms.ops.service import SendRequest, ServiceConfig
from ghl_sms.ops.storage import request_budget_key
from support.backends import Backend
from support.stack import WEEKDAY_NOON, stack

pytestmark = pytest.mark.anyio


def _max_in_window(instants: list[float], seconds: float) -> int:
    instants = sorted(instants)
    return max(bisect.bisect_left(instants, t + seconds) - i for i, t in enumerate(instants))


async def test_a_send_during_a_campaign_waits_for_the_budget_the_campaign_used(
    backend: Backend,
) -> None:
    clock = FakeClock(WEEKDAY_NOON)
    async with stack(ledger_path=backend.target, clock=clock) as s:
        assert isinstance(s.client.pacer, BudgetPacer)
        key = request_budget_key(s.sandbox.location_id)
        limits = RateLimits()
        window = limits.window * (1 + limits.margin)
        # Another process's pump (its own connection) has taken the whole window.
        pump = SqlBudget(backend.connection(clock))
        taken = [pump.reserve(key, request_limit(limits), clock.now()) for _ in range(limits.burst)]
        outcome = await s.service.send(
            SendRequest(contact_id=s.ids("reachable"), text="Running late, sorry!")
        )
        assert outcome.outcome == "sent"
        claims = sorted(
            row[0]
            for row in s.ledger.conn.execute(
                "SELECT at FROM bulk_budget_claims WHERE key = ?", (key,)
            )
        )
        ours = claims[limits.burst :]
        assert len(claims) > limits.burst  # the send's requests were claimed there too
        assert min(ours) >= taken[0] + window  # ... after the campaign's window
        assert clock.now() >= taken[0] + window  # and the send waited for it
        assert _max_in_window(claims, window) <= limits.burst


async def test_the_shared_budget_can_be_turned_off_for_a_process_of_its_own() -> None:
    async with stack(config=ServiceConfig(shared_budget=False)) as s:
        assert isinstance(s.client.pacer, SlidingWindowPacer)
