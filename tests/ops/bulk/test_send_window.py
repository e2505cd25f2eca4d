"""A campaign's send window end to end, on the in-process sandbox and a FakeClock: a
recipient outside it waits for their own local opening (or is skipped), is texted exactly
once when it opens, also on a transactional campaign, and the window is read back from
the store by whichever engine resumes the campaign."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.bulk import CampaignSpec, ContactIdsSource, CsvSource, SendWindow
from support.bulk import BulkStack, bulk_stack, write_csv

pytestmark = pytest.mark.anyio

OFFICE = SendWindow(time(9, 30), time(17, 0))
# Wednesday 4 March 2026, 13:00 UTC: 08:00 in Miami and New York (legal hours have begun,
# the window hasn't), 05:00 in San Francisco (neither has).
MORNING = datetime(2026, 3, 4, 13, 0, tzinfo=UTC).timestamp()
OPENS_EAST = datetime(2026, 3, 4, 14, 30, tzinfo=UTC).timestamp()  # 09:30 EST
OPENS_WEST = datetime(2026, 3, 4, 17, 30, tzinfo=UTC).timestamp()  # 09:30 PST


def _spec(s: BulkStack, **kw: object) -> CampaignSpec:
    template = "Hi {first_name|there}!"
    return CampaignSpec(location_id=s.location_id, template=template, **kw)  # type: ignore[arg-type]


async def test_each_recipient_waits_for_the_window_in_their_own_zone_and_gets_one_text(
    tmp_path: Path,
) -> None:
    clock = FakeClock(MORNING)
    async with bulk_stack(tmp_path, clock=clock) as s:
        florida, california = s.ids("quiet_hours_fl"), s.ids("reachable")
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, send_window=OFFICE), ContactIdsSource([florida, california])
        )
        assert campaign.send_window == "09:30-17:00"
        engine.start(campaign.id)
        await engine.run([campaign.id], until="idle")

        # Nobody is inside the window yet: both wait, nothing was sent.
        assert s.sends() == [] and s.outbound() == Counter()
        status = engine.status(campaign.id)
        assert status.counts["deferred"] == 2
        assert status.campaign.waiting_reason == "quiet_hours"
        [reason] = status.reasons
        assert reason.code == "quiet_hours" and reason.example is not None
        assert "send window 09:30-17:00" in reason.example

        # A fresh engine (another process) resumes: the window comes from the store.
        await s.engine().run([campaign.id])
        assert s.outbound() == Counter({florida: 1, california: 1})
        first, second = sorted(r.at for r in s.sends())
        assert OPENS_EAST <= first < OPENS_EAST + 60
        assert OPENS_WEST <= second < OPENS_WEST + 60
        assert engine.status(campaign.id).counts["sent"] == 2


async def test_a_list_of_numbers_is_deferred_without_a_request_until_the_window(
    tmp_path: Path,
) -> None:
    clock = FakeClock(MORNING)
    rows = [[f"+1212555{1000 + i:04d}", f"P{i}"] for i in range(20)]
    csv_file = write_csv(tmp_path / "list.csv", ["phone", "first_name"], rows)
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        campaign = await engine.create(_spec(s, send_window=OFFICE), CsvSource(csv_file))
        engine.start(campaign.id)
        await engine.run([campaign.id], until="idle")
        assert s.requests == []  # read from the number alone: no lookup, no budget
        status = engine.status(campaign.id)
        assert status.counts["deferred"] == 20
        assert status.next_due_at == datetime.fromtimestamp(OPENS_EAST, UTC)

        await engine.run([campaign.id])
        assert len(s.sends()) == 20 and min(r.at for r in s.sends()) >= OPENS_EAST
        assert engine.status(campaign.id).counts["sent"] == 20


async def test_a_transactional_campaign_keeps_the_window(tmp_path: Path) -> None:
    # Wednesday 02:00 UTC: 21:00 in Miami. Transactional lifts quiet hours, not the window.
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    async with bulk_stack(tmp_path, clock=clock) as s:
        florida = s.ids("quiet_hours_fl")
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, transactional=True, send_window=OFFICE), ContactIdsSource([florida])
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({florida: 1})
        [send] = s.sends()
        assert OPENS_EAST <= send.at < OPENS_EAST + 60


async def test_outside_the_window_is_skipped_with_quiet_hours_skip(tmp_path: Path) -> None:
    clock = FakeClock(MORNING)
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, send_window=OFFICE, quiet_hours="skip"),
            ContactIdsSource([s.ids("quiet_hours_fl")]),
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        [row] = engine.report(campaign.id)
        assert (row.state, row.reason_code) == ("skipped", "quiet_hours")
        assert s.sends() == []


async def test_the_dry_run_counts_who_is_outside_the_window(tmp_path: Path) -> None:
    clock = FakeClock(MORNING)
    rows = [["+12125551000", "NY"], ["+14155552001", "SF"]]
    csv_file = write_csv(tmp_path / "list.csv", ["phone", "first_name"], rows)
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        narrow = await engine.create(
            _spec(s, send_window=SendWindow(time(8), time(9))), CsvSource(csv_file)
        )
        preview = await engine.preview(narrow.id, samples=0)
        # 08:00 in New York is inside 08:00-09:00; 05:00 in San Francisco is not.
        assert preview.deferred_quiet_hours == 1
        assert any("outside the send window" in w for w in preview.warnings)
