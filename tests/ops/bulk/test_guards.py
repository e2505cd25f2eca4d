"""Campaign guards: auto-pause on failures and opt-outs, the spend cap, the deadline."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.bulk import (
    CampaignProgress,
    CampaignSpec,
    CampaignState,
    Caps,
    ContactIdsSource,
    Guards,
)
from ghl_sms.ops.bulk.guards import Health, health_problem
from support.bulk import BulkStack, bulk_stack

pytestmark = pytest.mark.anyio


def _spec(s: BulkStack, guards: Guards, **kw: object) -> CampaignSpec:
    return CampaignSpec(location_id=s.location_id, template="Hi {first_name|there}!",
                        guards=guards, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_the_thresholds_need_a_minimum_sample() -> None:
    guards = Guards()
    assert health_problem(Health(attempts=19, failures=19, texted=0, opted_out=0), guards) is None
    failing = health_problem(Health(attempts=50, failures=10, texted=40, opted_out=0), guards)
    assert failing is not None and "10 of the last 50 sends failed (limit 20%)" in failing
    assert health_problem(Health(attempts=50, failures=9, texted=40, opted_out=1), guards) is None
    opting = health_problem(Health(attempts=50, failures=0, texted=40, opted_out=2), guards)
    assert opting is not None and "opted out" in opting
    off = Guards(max_failure_rate=None, max_opt_out_rate=None)
    assert health_problem(Health(attempts=50, failures=50, texted=50, opted_out=50), off) is None


async def test_a_run_of_failures_pauses_the_campaign_until_a_deliberate_resume(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(40)
        engine = s.engine(workers=1)
        campaign = await engine.create(_spec(s, Guards(), max_attempts=1), ContactIdsSource(pats))
        engine.start(campaign.id)
        # GHL fails every send until further notice.
        s.sandbox.inject_fault("500", count=10_000, path="/conversations/messages", method="POST")
        await engine.run([campaign.id])

        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.PAUSED
        assert "failure guard" in (status.campaign.state_reason or "")
        assert status.counts["failed"] == 20 and status.counts["sent"] == 0  # minimum sample
        assert s.outbound() == Counter()

        s.sandbox.clear_faults()
        engine.resume(campaign.id)  # on purpose: counts afresh from now
        await engine.run([campaign.id])
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.COMPLETED
        assert status.counts["failed"] == 20 and status.counts["sent"] == 20
        assert sum(s.outbound().values()) == 20


async def test_opt_outs_after_the_texts_pause_the_campaign(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(120)
        engine = s.engine(workers=2)
        guards = Guards(opt_out_min_sample=40)
        campaign = await engine.create(_spec(s, guards), ContactIdsSource(pats))
        engine.start(campaign.id)
        opted: list[str] = []

        def replies(p: CampaignProgress) -> None:
            if p.sent >= 40 and not opted:  # 5 of the first 40 texted reply STOP
                rows = engine.ledger.db.execute(
                    "SELECT contact_id FROM bulk_recipients WHERE state = 'sent' LIMIT 5"
                ).fetchall()
                for (contact_id,) in rows:
                    engine.ledger.record_opt_out(s.location_id, contact_id=contact_id,
                                                 source="keyword")  # fmt: skip
                    opted.append(contact_id)

        await engine.run([campaign.id], on_progress=replies)
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.PAUSED
        assert "opt-out guard" in (status.campaign.state_reason or "")
        assert len(opted) == 5 and status.counts["sent"] < 60
        assert sum(s.outbound().values()) == status.counts["sent"]


async def test_the_spend_cap_pauses_before_the_message_that_would_cross_it(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(10)
        engine = s.engine(workers=4)
        # One part each at $0.0079: five fit under $0.04, the sixth would not.
        campaign = await engine.create(_spec(s, Guards(max_cost_usd=0.04)), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id])
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.PAUSED
        assert "Spend cap reached" in (status.campaign.state_reason or "")
        assert status.counts["sent"] == 5 and sum(s.outbound().values()) == 5
        assert status.counts["sending"] == 0 and status.counts["pending"] == 5

        engine.resume(campaign.id, max_cost_usd=1.0)
        await engine.run([campaign.id])
        assert engine.status(campaign.id).campaign.state == CampaignState.COMPLETED
        assert s.outbound() == Counter({p: 1 for p in pats})


async def test_recipients_not_texted_by_the_deadline_are_skipped_as_expired(
    tmp_path: Path,
) -> None:
    # 02:00 UTC: Florida's Hugo waits for 13:00 UTC; Ava in California is texted now.
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    async with bulk_stack(tmp_path, clock=clock) as s:
        hugo, ava = s.ids("quiet_hours_fl"), s.ids("reachable")
        pats = s.add_contacts(4)
        engine = s.engine(workers=1)
        deadline = clock.now() + 150.0  # the appointment is in 2.5 minutes
        campaign = await engine.create(
            _spec(s, Guards(expires_at=deadline), caps=Caps(per_minute=1)),
            ContactIdsSource([ava, hugo, *pats]),
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])

        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.COMPLETED
        assert clock.now() < deadline + 60
        report = {r.contact_id: r for r in engine.report(campaign.id)}
        assert report[hugo].reason_code == "expired"  # would have waited past it
        assert report[ava].state == "sent"
        sent = status.counts["sent"]
        assert 2 <= sent <= 3 and status.counts["skipped"] == 6 - sent
        assert all(r.reason_code == "expired" for r in report.values() if r.state == "skipped")
        assert sum(s.outbound().values()) == sent and s.outbound()[hugo] == 0
