"""Killed at any moment and resumed: exactly one message per eligible recipient.

In process, a "crash" is the run being cancelled (at a request: before it leaves, or
after GHL processed it but before its answer is read) or a ``ProcessDied`` raised right
after a ledger or store write committed. The resume is a fresh engine over the same
ledger file, as a new process would be. GHL's side (the sandbox) lives on.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest

from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, CampaignState, ContactIdsSource, CsvSource
from support.bulk import BulkStack, bulk_stack, write_csv

pytestmark = pytest.mark.anyio


class ProcessDied(BaseException):
    """Stands for SIGKILL: nothing catches it, nothing after it runs."""


async def _campaign(s: BulkStack) -> tuple[str, list[str], list[str]]:
    """A campaign of contacts, a new phone number (GHL creates its contact) and
    ineligible recipients; returns (campaign id, eligible contact ids, ineligible ids)."""
    pats = s.add_contacts(4)
    engine = s.engine()
    engine.ledger.record_opt_out(s.location_id, contact_id=s.ids("opted_out"), source="keyword")
    ineligible = [s.ids("sms_dnd"), s.ids("opted_out"), s.ids("no_phone")]
    csv_file = write_csv(
        s.tmp / "list.csv",
        ["contact_id", "phone", "first_name"],
        [[p, "", ""] for p in pats]
        + [["", "+14155553999", "Newcomer"]]
        + [[c, "", ""] for c in ineligible],
    )
    campaign = await engine.create(
        CampaignSpec(location_id=s.location_id, template="Hi {first_name|there}, it's Sandbox"),
        CsvSource(csv_file),
    )
    engine.start(campaign.id)
    return campaign.id, pats, ineligible


def _assert_exactly_once(
    s: BulkStack, engine: BulkEngine, campaign_id: str, pats: list[str]
) -> None:
    newcomer = s.sandbox.store.conn.execute(
        "SELECT id FROM contacts WHERE phone = '+14155553999'"
    ).fetchone()
    assert newcomer is not None
    expected = Counter({p: 1 for p in [*pats, str(newcomer[0])]})
    assert s.outbound() == expected
    status = engine.status(campaign_id)
    assert status.campaign.state == CampaignState.COMPLETED
    assert status.counts["sent"] == 5 and status.counts["skipped"] == 3
    reported = {r.message_id for r in engine.report(campaign_id) if r.state == "sent"}
    assert len(reported) == 5 and None not in reported


async def _run_crashing_at_request(
    s: BulkStack, engine: BulkEngine, campaign_id: str, at: int, when: str
) -> bool:
    count = 0
    with anyio.CancelScope() as scope:

        async def hook(request: httpx2.Request) -> None:
            nonlocal count
            count += 1
            if count == at:
                scope.cancel()  # the process dies here
                await anyio.lowlevel.checkpoint()

        if when == "before":
            s.before = hook
        else:
            s.after = hook
        try:
            await engine.run([campaign_id])
        finally:
            s.before = s.after = None
    return scope.cancelled_caught


async def _requests_of_a_clean_run(tmp_path: Path) -> int:
    async with bulk_stack(tmp_path / "clean") as s:
        s.tmp.mkdir(exist_ok=True)
        campaign_id, _, _ = await _campaign(s)
        await s.engine().run([campaign_id])
        return len(s.requests)


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_crash_at_any_request_then_a_resume_texts_everyone_exactly_once(
    tmp_path: Path, when: str
) -> None:
    total = await _requests_of_a_clean_run(tmp_path)
    assert total >= 15
    for at in range(1, total + 1):
        async with bulk_stack(tmp_path / f"{when}-{at}") as s:
            s.tmp.mkdir()
            campaign_id, pats, _ = await _campaign(s)
            crashed = await _run_crashing_at_request(s, s.engine(), campaign_id, at, when)
            assert crashed, f"the run finished before request {at}"
            s.clock.advance(1.0)
            resumed = s.engine()
            await resumed.run([campaign_id])
            _assert_exactly_once(s, resumed, campaign_id, pats)


_WRITES = [
    ("ledger", "claim"),
    ("ledger", "mark_sent"),
    ("ledger", "mark_unknown"),
    ("store", "claim_due"),
    ("store", "finish"),
]


def _die_after(engine: BulkEngine, at: int) -> Callable[[], int]:
    """Make the ``at``-th committed write (of ``_WRITES``) the process's last act."""
    calls = 0
    for owner_name, method in _WRITES:
        owner = getattr(engine, owner_name)
        original = getattr(owner, method)

        def wrapped(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            nonlocal calls
            result = _original(*args, **kwargs)
            calls += 1
            if calls == at:
                raise ProcessDied
            return result

        setattr(owner, method, wrapped)
    return lambda: calls


async def test_a_crash_right_after_any_ledger_or_store_write_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    at = 1
    while True:
        async with bulk_stack(tmp_path / f"write-{at}") as s:
            s.tmp.mkdir()
            campaign_id, pats, _ = await _campaign(s)
            engine = s.engine()
            writes = _die_after(engine, at)
            try:
                await engine.run([campaign_id])
            except BaseException as exc:  # the task groups wrap it
                assert _is_death(exc)
            else:
                assert writes() < at
                break  # past the last write: every point was covered
            s.clock.advance(1.0)
            resumed = s.engine()
            await resumed.run([campaign_id])
            _assert_exactly_once(s, resumed, campaign_id, pats)
        at += 1
    assert at > 20


def _is_death(exc: BaseException) -> bool:
    if isinstance(exc, ProcessDied):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_death(e) for e in exc.exceptions)
    return False


async def test_killed_and_resumed_again_and_again_under_faults_it_still_ends_exactly_once(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    for trial in range(6):
        async with bulk_stack(tmp_path / f"trial-{trial}") as s:
            s.tmp.mkdir()
            campaign_id, pats, _ = await _campaign(s)
            for kind in ("drop", "500_after", "500", "hang"):
                s.sandbox.inject_fault(kind, path="/conversations/messages", method="POST")  # type: ignore[arg-type]
            for _ in range(4):
                at = rng.randint(1, 8)
                when = rng.choice(["before", "after"])
                if not await _run_crashing_at_request(s, s.engine(), campaign_id, at, when):
                    break
                s.clock.advance(rng.choice([0.5, 5.0, 400.0]))
            resumed = s.engine()
            await resumed.run([campaign_id])
            _assert_exactly_once(s, resumed, campaign_id, pats)


async def test_a_crash_leaves_the_location_to_the_next_process_once_its_lease_runs_out(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        campaign_id, pats, _ = await _campaign(s)
        first = s.engine()
        # A dead pump in this same process: its lease is never released.
        first.leases.release = lambda name, owner: None  # type: ignore[method-assign]
        await _run_crashing_at_request(s, first, campaign_id, 6, "after")
        second = s.engine()
        summary = await second.run([campaign_id])
        assert summary.busy_locations == {s.location_id: summary.busy_locations[s.location_id]}
        s.clock.advance(31.0)  # the lease's ttl
        await second.run([campaign_id])
        _assert_exactly_once(s, second, campaign_id, pats)


async def test_recipients_of_a_dead_run_are_settled_from_the_ledger_not_resent(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(3)
        engine = s.engine()
        campaign = await engine.create(
            CampaignSpec(location_id=s.location_id, template="Once"), ContactIdsSource(pats)
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        # Make it look as if the process died after sending, before recording it.
        engine.ledger.db.execute("UPDATE bulk_recipients SET state = 'sending', message_id = NULL")
        engine.ledger.db.execute("UPDATE bulk_campaigns SET state = 'running'")
        before = len(s.requests)
        await s.engine().run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})
        assert {r.state for r in engine.report(campaign.id)} == {"sent"}
        assert all(r.message_id for r in engine.report(campaign.id))
        assert s.requests[before:] == []  # settled from the ledger alone


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_campaign_interrupted_at_any_request_then_cancelled_leaves_no_row_sending(
    tmp_path: Path, when: str
) -> None:
    """Ctrl-C, then `bulk cancel`: every row ends final, and a send that may have gone
    out is looked up in GHL: adopted if it is there, marked not sent if it isn't."""
    total = await _requests_of_a_clean_run(tmp_path)
    for at in range(2, total + 1, 2):
        async with bulk_stack(tmp_path / f"{when}-{at}") as s:
            s.tmp.mkdir()
            campaign_id, _, _ = await _campaign(s)
            if not await _run_crashing_at_request(s, s.engine(workers=1), campaign_id, at, when):
                break
            cancelling = s.engine()
            cancelled = await cancelling.cancel_and_settle(campaign_id)
            assert (cancelled.campaign.state, cancelled.unsettled) == ("cancelled", 0)
            rows = list(cancelling.report(campaign_id))
            assert {r.state for r in rows} <= {"sent", "skipped", "failed"}, at
            texted = {c for c, n in s.outbound().items() if n}
            assert all(n == 1 for n in s.outbound().values())
            sent = [r for r in rows if r.state == "sent"]
            assert {m for r in sent for m in [r.message_id]} <= {
                m for c in texted for m in s.outbound_ids(c)
            }
            assert len(sent) == len(texted), (at, rows)  # nothing texted goes unreported
            assert all(r.reason_code == "cancelled" for r in rows if r.state == "skipped"
                       and r.reason_code not in ("sms_dnd", "opted_out", "no_phone"))  # fmt: skip


async def test_cancelling_while_ghl_cannot_be_asked_counts_the_sends_still_in_doubt(
    tmp_path: Path,
) -> None:
    """The one-call cancel over MCP: GHL unreachable when it settles leaves the send that
    may have gone out ``sending`` and says so; a later settle adopts it, never resends."""
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(3)
        engine = s.engine(workers=1)
        campaign = await engine.create(
            CampaignSpec(location_id=s.location_id, template="Once"), ContactIdsSource(pats)
        )
        engine.start(campaign.id)

        async def die_after_the_first_send(request: httpx2.Request) -> None:
            if request.method == "POST" and request.url.path == "/conversations/messages":
                raise ProcessDied  # GHL has the message; its answer is never read

        s.after = die_after_the_first_send
        with pytest.raises(BaseExceptionGroup):
            await engine.run([campaign.id])
        s.after = None
        s.clock.advance(120.0)  # the dead pump's lease has expired
        s.sandbox.inject_fault("500", count=1000, method="GET")

        cancelling = s.engine()
        cancelled = await cancelling.cancel_and_settle(campaign.id)
        assert (cancelled.campaign.state, cancelled.unsettled) == ("cancelled", 1)
        assert cancelling.status(campaign.id).interrupted == 1

        s.sandbox.clear_faults()
        assert await cancelling.settle(campaign.id) == 0
        rows = {r.seq: r for r in cancelling.report(campaign.id)}
        assert rows[1].state == "sent" and rows[1].message_id == s.outbound_ids(pats[0])[0]
        assert [rows[n].reason_code for n in (2, 3)] == ["cancelled", "cancelled"]
        assert s.outbound() == Counter({pats[0]: 1})
