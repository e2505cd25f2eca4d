"""One pump per location: leases, takeovers, and a pump that loses its lease."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from ghl_sms.ops._migrations import migrate
from ghl_sms.ops.bulk import CampaignProgress, CampaignSpec, CampaignState, ContactIdsSource
from ghl_sms.ops.bulk.dispatcher import Owner, SqliteLeases
from support.bulk import bulk_stack

NOW = 1_772_647_200.0


def _leases(tmp_path: Path) -> SqliteLeases:
    db = sqlite3.connect(tmp_path / "leases.db", isolation_level=None)
    migrate(db)
    return SqliteLeases(db)


def _owner(name: str, pid: int = 1) -> Owner:
    return Owner(name, socket.gethostname(), pid)


def test_a_held_lease_is_exclusive_until_it_expires(tmp_path: Path) -> None:
    leases = _leases(tmp_path)
    here = Owner.here()
    other = Owner("other", "elsewhere", 42)
    assert leases.acquire("loc", here, NOW, 30)
    assert not leases.acquire("loc", other, NOW + 29, 30)
    assert leases.holder("loc", NOW + 29) is not None
    assert leases.acquire("loc", other, NOW + 30, 30)
    assert not leases.renew("loc", here, NOW + 31, 30)  # lost: its pump must stop


def test_a_lease_held_by_a_process_of_this_host_that_is_gone_is_free_at_once(
    tmp_path: Path,
) -> None:
    leases = _leases(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert leases.acquire("loc", _owner("dead", int(dead.stdout)), NOW, 30)
    assert leases.holder("loc", NOW + 1) is None
    assert leases.acquire("loc", Owner.here(), NOW + 1, 30)


def test_only_the_holder_releases_a_lease(tmp_path: Path) -> None:
    leases = _leases(tmp_path)
    here = Owner.here()
    leases.acquire("loc", here, NOW, 30)
    leases.release("loc", Owner("someone", "elsewhere", 7))
    assert leases.holder("loc", NOW) is not None
    leases.release("loc", here)
    assert leases.holder("loc", NOW) is None


@pytest.mark.anyio
async def test_a_pump_that_loses_its_lease_stops_and_the_new_holder_finishes(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(12)
        engine = s.engine(workers=2)
        campaign = await engine.create(
            CampaignSpec(location_id=s.location_id, template="Hi"), ContactIdsSource(pats)
        )
        engine.start(campaign.id)
        thief = Owner("thief", "elsewhere", 4242)

        def steal(progress: CampaignProgress) -> None:
            if progress.sent == 3 and s.clock.now() < NOW + 100:
                s.clock.advance(11.0)  # the pump renews now, and finds the lease gone
                engine.ledger.db.execute(
                    "UPDATE bulk_leases SET owner = ?, host = ?, pid = ?, expires_at = ?",
                    (thief.id, thief.host, thief.pid, s.clock.now() + 60),
                )

        summary = await engine.run([campaign.id], on_progress=steal)
        assert summary.busy_locations == {s.location_id: "elsewhere:4242"}
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.RUNNING
        assert status.counts["sending"] == 0 and 3 <= status.counts["sent"] < 12
        assert len(s.sends()) == status.counts["sent"]

        s.clock.advance(61.0)  # the thief died; its lease runs out
        await s.engine().run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})


@pytest.mark.anyio
async def test_a_long_lived_run_picks_up_campaigns_as_they_start(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(3)
        engine = s.engine(idle_poll=5.0)
        done = anyio.Event()

        def progress(p: CampaignProgress) -> None:
            if p.state == CampaignState.COMPLETED:
                done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(until="forever", on_progress=progress))
            await anyio.sleep(0)
            campaign = await engine.create(
                CampaignSpec(location_id=s.location_id, template="Hi", transactional=True),
                ContactIdsSource(pats),
                campaign_id="cmp_mcp_1",
            )
            again = await engine.create(
                CampaignSpec(location_id=s.location_id, template="Hi", transactional=True),
                ContactIdsSource(pats),
                campaign_id="cmp_mcp_1",
            )
            assert again == campaign  # a retried call creates nothing new
            engine.start(campaign.id)
            with anyio.fail_after(5):
                await done.wait()
            tg.cancel_scope.cancel()
        assert s.outbound() == Counter({p: 1 for p in pats})
