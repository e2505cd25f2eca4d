"""One pump per location: leases (on SQLite and PostgreSQL, from the same tests),
takeovers, fencing epochs, and a pump that loses its lease."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.bulk import CampaignProgress, CampaignSpec, CampaignState, ContactIdsSource
from ghl_sms.ops.bulk.dispatcher import MemoryLeases, Owner, SqlLeases
from ghl_sms.ops.storage.ports import Fence, Leases
from support.backends import Backend
from support.bulk import bulk_stack

NOW = 1_772_647_200.0


def _owner(name: str, pid: int = 1) -> Owner:
    return Owner(name, socket.gethostname(), pid)


@pytest.fixture
def leases(backend: Backend) -> Leases:
    return SqlLeases(backend.connection(FakeClock(NOW)))


def test_a_held_lease_is_exclusive_until_it_expires(leases: Leases) -> None:
    here = Owner.here()
    other = Owner("other", "elsewhere", 42)
    assert leases.acquire("loc", here, NOW, 30)
    assert not leases.acquire("loc", other, NOW + 29, 30)
    assert leases.holder("loc", NOW + 29) is not None
    assert leases.acquire("loc", other, NOW + 30, 30)
    assert not leases.renew("loc", here, NOW + 31, 30)  # lost: its pump must stop


def test_a_lease_held_by_a_process_of_this_host_that_is_gone_is_free_at_once(
    leases: Leases,
) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert leases.acquire("loc", _owner("dead", int(dead.stdout)), NOW, 30)
    assert leases.holder("loc", NOW + 1) is None
    assert leases.acquire("loc", Owner.here(), NOW + 1, 30)


def test_only_the_holder_releases_a_lease(leases: Leases) -> None:
    here = Owner.here()
    leases.acquire("loc", here, NOW, 30)
    leases.release("loc", Owner("someone", "elsewhere", 7))
    assert leases.holder("loc", NOW) is not None
    leases.release("loc", here)
    assert leases.holder("loc", NOW) is None


def test_every_acquire_bumps_the_epoch_and_only_the_latest_holds(leases: Leases) -> None:
    first = leases.acquire("loc", _owner("first"), NOW, 30)
    assert first == Fence("loc", 1) and leases.holds(first)
    assert leases.acquire("loc", _owner("second"), NOW + 1, 30) is None  # held: no epoch
    second = leases.acquire("loc", _owner("second"), NOW + 31, 30)  # the first expired
    assert second == Fence("loc", 2)
    assert leases.holds(second) and not leases.holds(first)
    leases.release("loc", _owner("second"))
    third = leases.acquire("loc", _owner("third"), NOW + 32, 30)
    assert third == Fence("loc", 3)  # a release keeps the epoch: it never goes back
    assert leases.acquire("other", _owner("third"), NOW, 30) == Fence("other", 1)


def test_a_taken_over_pump_can_neither_renew_nor_release_the_lease(leases: Leases) -> None:
    old, new = _owner("old"), _owner("new")
    assert leases.acquire("loc", old, NOW, 30) == Fence("loc", 1)
    fence = leases.acquire("loc", new, NOW + 30, 30)  # the old one expired: taken over
    assert fence == Fence("loc", 2)
    assert not leases.renew("loc", old, NOW + 31, 300)
    leases.release("loc", old)
    holder = leases.holder("loc", NOW + 31)
    assert holder is not None and holder.owner == "new" and holder.epoch == 2
    assert holder.expires_at == NOW + 60  # neither the stale renew nor release wrote
    assert leases.renew("loc", new, NOW + 40, 30) and leases.holds(fence)
    holder = leases.holder("loc", NOW + 41)
    assert holder is not None and holder.expires_at == NOW + 70 and holder.epoch == 2


def test_memory_leases_fence_the_same_way() -> None:
    leases = MemoryLeases()
    first = leases.acquire("loc", _owner("first"), NOW, 30)
    second = leases.acquire("loc", _owner("second"), NOW + 31, 30)
    assert first is not None and second is not None and second.epoch == first.epoch + 1
    assert leases.holds(second) and not leases.holds(first)


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
