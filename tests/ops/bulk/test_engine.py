"""Campaigns end to end against the in-process sandbox, on a FakeClock."""

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
    CsvSource,
    TagSource,
)
from ghl_sms.ops.bulk.engine import CampaignStateError, NoRecipients
from support.bulk import BulkStack, bulk_stack, write_csv

pytestmark = pytest.mark.anyio

INELIGIBLE = ("sms_dnd", "no_phone", "invalid", "opted_out")


def _spec(s: BulkStack, template: str = "Hi {first_name|there}!", **kw: object) -> CampaignSpec:
    return CampaignSpec(location_id=s.location_id, template=template, **kw)  # type: ignore[arg-type]


async def test_every_eligible_recipient_gets_one_message_and_the_rest_are_skipped_with_reasons(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(6)
        s.engine().ledger.record_opt_out(
            s.location_id, contact_id=s.ids("opted_out"), source="keyword"
        )
        ids = [*pats, *(s.ids(t) for t in INELIGIBLE), pats[0]]
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource(ids))
        engine.start(campaign.id)
        summary = await engine.run([campaign.id])

        assert summary.campaigns[0].state == CampaignState.COMPLETED
        assert s.outbound() == Counter({p: 1 for p in pats})
        assert s.bodies(pats[1]) == ["Hi Pat1!"]
        status = engine.status(campaign.id)
        assert status.counts["sent"] == 6 and status.counts["skipped"] == 5
        assert {(r.code, r.count) for r in status.reasons} == {
            ("sms_dnd", 1), ("no_phone", 1), ("invalid_phone", 1), ("opted_out", 1),
            ("duplicate_recipient", 1),
        }  # fmt: skip
        report = {r.seq: r for r in engine.report(campaign.id)}
        assert report[1].message_id == s.outbound_ids(pats[0])[0]
        assert report[1].idempotency_key == f"bulk:{campaign.id}:1"


async def test_a_csv_streams_phones_and_fields_and_skips_what_it_can_check_locally(
    tmp_path: Path,
) -> None:
    csv_file = write_csv(
        tmp_path / "list.csv",
        ["Phone", "First Name", "Appointment"],
        [
            ["(415) 555-2001", "Ana", "Mon 3pm"],
            ["+14155552002", "", "Tue 9am"],
            ["not a number", "Bo", "Wed"],
            ["", "Cy", "Thu"],
            ["+1 415 555 2001", "Ana again", "Fri"],
            ["+14155552003", "Dee", ""],
        ],
    )
    async with bulk_stack(tmp_path) as s:
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, "Hi {first_name|there}, see you {appointment}."), CsvSource(csv_file)
        )
        assert campaign.total == 6 and campaign.source == "csv:list.csv"
        engine.start(campaign.id)
        await engine.run([campaign.id])

        bodies = sorted(
            body for (body,) in s.sandbox.store.conn.execute("SELECT body FROM messages")
        )
        assert bodies == ["Hi Ana, see you Mon 3pm.", "Hi there, see you Tue 9am."]
        outcomes = {r.seq: (r.state, r.reason_code) for r in engine.report(campaign.id)}
        assert outcomes == {
            1: ("sent", None), 2: ("sent", None), 3: ("skipped", "invalid_phone"),
            4: ("skipped", "no_phone"), 5: ("skipped", "duplicate_recipient"),
            6: ("skipped", "missing_fields"),
        }  # fmt: skip


async def test_a_tag_brings_every_tagged_contact_and_their_fields(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        tagged = s.add_contacts(3, tags=["spring-promo"])
        s.add_contacts(2, start=3000)
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, "{first_name}: 20% off"), TagSource("spring-promo", page_size=2)
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({c: 1 for c in tagged})
        assert s.bodies(tagged[2]) == ["Pat2: 20% off"]


async def test_a_dry_run_counts_parts_and_cost_and_only_looks_up_its_samples(
    tmp_path: Path,
) -> None:
    csv_file = write_csv(
        tmp_path / "list.csv",
        ["phone", "first_name"],
        [["+14155552001", "Ana"], ["+14155552002", "Bo"], ["bad", "X"], ["+14155552001", "A"]]
        + [[f"+1415555{3000 + i}", f"P{i}"] for i in range(20)],
    )
    async with bulk_stack(tmp_path) as s:
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, "Hello {first_name}! " + "x" * 152), CsvSource(csv_file)
        )
        preview = await engine.preview(campaign.id)

        assert s.sends() == [] and s.outbound() == Counter()
        assert all(r.method == "GET" for r in s.requests), s.requests  # lookups only
        looked_up = [r for r in s.requests if "search/duplicate" in r.path]
        assert len(looked_up) == 3  # the three samples, not the 22 recipients
        assert preview.would_send == 22
        assert {(r.code, r.count) for r in preview.skipped} == {
            ("invalid_phone", 1), ("duplicate_recipient", 1)
        }  # fmt: skip
        assert preview.messages_parts == 44 and preview.max_parts == 2
        assert preview.cost_estimate_usd == pytest.approx(44 * 0.0079)
        assert [x.text for x in preview.samples] == [
            "Hello Ana! " + "x" * 152, "Hello Bo! " + "x" * 152, "Hello P0! " + "x" * 152
        ]  # fmt: skip
        assert preview.requests_estimate == 22 * 3 + 2


async def test_dry_run_samples_are_exactly_what_each_recipient_gets(tmp_path: Path) -> None:
    """An empty cell falls back (or is filled from the GHL contact), as the send does."""
    async with bulk_stack(tmp_path) as s:
        ava = s.ids("reachable")
        csv_file = write_csv(
            tmp_path / "list.csv",
            ["contact_id", "phone", "first_name"],
            [["", "+14155552001", ""], [ava, "", ""], ["", "+14155552002", "Bo"]],
        )
        engine = s.engine()
        template = "Hi {first_name|there}, see you"
        campaign = await engine.create(_spec(s, template), CsvSource(csv_file))
        preview = await engine.preview(campaign.id)
        texts = [x.text for x in preview.samples]
        assert texts == ["Hi there, see you", "Hi Ava, see you", "Hi Bo, see you"]
        assert not any("{" in (t or "") for t in texts)

        engine.start(campaign.id)
        await engine.run([campaign.id])
        noor = s.sandbox.store.conn.execute(
            "SELECT id FROM contacts WHERE phone = '+14155552001'"
        ).fetchone()[0]
        assert s.bodies(str(noor)) == ["Hi there, see you"]
        assert s.bodies(ava) == ["Hi Ava, see you"]


async def test_a_dry_run_can_check_dnd_by_reading_each_contact(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        engine = s.engine()
        ids = [s.ids("reachable"), s.ids("sms_dnd"), "nope0000000000000000"]
        campaign = await engine.create(_spec(s), ContactIdsSource(ids))
        preview = await engine.preview(campaign.id, check_contacts=True)
        assert preview.would_send == 1 and preview.dnd_checked
        assert {r.code for r in preview.skipped} == {"sms_dnd", "contact_not_found"}
        assert preview.samples[0].text == "Hi Ava!"
        assert s.sends() == []


async def test_recipients_in_quiet_hours_wait_for_their_morning(tmp_path: Path) -> None:
    # Wednesday 02:00 UTC: 21:00 in New York, 18:00 in San Francisco.
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    async with bulk_stack(tmp_path, clock=clock) as s:
        florida, california = s.ids("quiet_hours_fl"), s.ids("reachable")
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource([florida, california]))
        engine.start(campaign.id)
        seen: list[CampaignProgress] = []
        started = clock.now()
        await engine.run([campaign.id], on_progress=seen.append)

        assert len(s.sends()) == 2 and s.outbound() == Counter({florida: 1, california: 1})
        first, second = sorted(r.at for r in s.sends())
        eight_am_ny = datetime(2026, 3, 4, 13, 0, tzinfo=UTC).timestamp()
        assert first < started + 60  # California: at once
        assert eight_am_ny <= second < eight_am_ny + 3600
        assert any(p.waiting_reason == "quiet_hours" for p in seen)


async def test_quiet_hours_can_skip_instead_of_waiting(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, quiet_hours="skip"), ContactIdsSource([s.ids("quiet_hours_fl")])
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        [row] = engine.report(campaign.id)
        assert (row.state, row.reason_code) == ("skipped", "quiet_hours")
        assert s.sends() == []


async def test_transactional_campaigns_ignore_quiet_hours(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, transactional=True), ContactIdsSource([s.ids("quiet_hours_fl")])
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert [r.at for r in s.sends()] == [clock.now()]


async def test_every_request_is_paced_under_the_location_limit_and_none_is_refused(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path, burst_limit=10, burst_window=10.0) as s:
        pats = s.add_contacts(30)
        engine = s.engine(workers=6)
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id])

        assert s.outbound() == Counter({p: 1 for p in pats})
        assert [r for r in s.requests if r.status == 429] == []
        times = sorted(r.at for r in s.requests)
        assert len(times) == 62  # numbers, location (its zone), 30 x (contact + send)
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u < t + 10.0) <= 10


async def test_a_429_backs_off_the_location_and_nobody_is_texted_twice(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(8)
        s.sandbox.inject_fault("429", count=2, path="/conversations/messages", method="POST")
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        started = s.clock.now()
        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})
        assert [r.status for r in s.requests].count(429) == 2
        # 18 requests take 2 s at 100 per 10 s; GHL said its window was full, so the
        # location waited for it to pass.
        assert s.clock.now() - started >= 10.0


@pytest.mark.parametrize("fault", ["500", "500_after", "drop", "hang"])
async def test_failed_and_lost_sends_end_with_exactly_one_message_each(
    tmp_path: Path, fault: str
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(6)
        s.sandbox.inject_fault(fault, count=3, path="/conversations/messages", method="POST")  # type: ignore[arg-type]
        s.sandbox.inject_fault("500", count=4, method="GET")
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})
        assert engine.status(campaign.id).counts["sent"] == 6


async def test_a_failure_that_persists_is_retried_with_backoff_then_failed(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        [pat] = s.add_contacts(1)
        s.sandbox.inject_fault("500", count=100, method="GET", path=f"/contacts/{pat}")
        engine = s.engine(retry_base=30.0)
        campaign = await engine.create(_spec(s, max_attempts=3), ContactIdsSource([pat]))
        engine.start(campaign.id)
        start = s.clock.now()
        await engine.run([campaign.id])
        [row] = engine.report(campaign.id)
        # Three tries, every one stopped at the contact lookup: no send request was made.
        assert (row.state, row.reason_code, row.attempts) == ("failed", "retry", 0)
        assert row.reason is not None and row.reason.startswith("Gave up after 3 failed tries")
        assert s.clock.now() - start >= 30.0 + 60.0
        assert s.sends() == []


async def test_a_per_minute_cap_is_never_exceeded(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(25)
        engine = s.engine(workers=8)
        campaign = await engine.create(_spec(s, caps=Caps(per_minute=10)), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})
        slots = sorted(
            at
            for (at,) in engine.ledger.db.execute(
                "SELECT at FROM bulk_budget_claims WHERE key = ?", (f"msg:{s.location_id}",)
            )
        )
        assert len(slots) == 25
        for i, t in enumerate(slots):
            assert sum(1 for u in slots[i:] if u < t + 60.0) <= 10
            assert sum(1 for u in slots[i:] if u < t + 6.0) <= 1  # spread, not in bursts
        assert slots[-1] - slots[0] >= 120.0


async def test_each_message_goes_out_in_its_cap_slot(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(12)
        engine = s.engine(workers=1)  # one worker: the fake clock then times sends exactly
        campaign = await engine.create(_spec(s, caps=Caps(per_minute=6)), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id])
        times = sorted(r.at for r in s.sends())
        assert len(times) == 12
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u < t + 60.0) <= 6


async def test_a_daily_cap_waits_for_the_next_day_instead_of_failing(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(7)
        engine = s.engine()
        spec = _spec(s, caps=Caps(number_per_day=3))
        campaign = await engine.create(spec, ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id], until="idle")

        assert len(s.sends()) == 3
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.RUNNING
        assert status.campaign.waiting_reason == "daily_cap"
        # The demo location is in Los Angeles: the day ends at 08:00 UTC.
        midnight_la = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
        assert status.campaign.waiting_until == midnight_la
        assert status.counts["deferred"] == 4 and status.counts["failed"] == 0

        await engine.run([campaign.id])  # waits for the next day, then a second day
        assert s.outbound() == Counter({p: 1 for p in pats})
        per_day = Counter(datetime.fromtimestamp(r.at - 8 * 3600, UTC).date() for r in s.sends())
        assert sorted(per_day.values()) == [1, 3, 3]


async def test_ghl_daily_request_limit_defers_to_the_next_utc_day(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path, daily_limit=9) as s:
        pats = s.add_contacts(6)
        engine = s.engine(workers=1)
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        await engine.run([campaign.id], until="idle")
        status = engine.status(campaign.id)
        assert status.campaign.waiting_reason == "ghl_daily_limit"
        assert status.campaign.waiting_until == datetime(2026, 3, 5, tzinfo=UTC)
        # 9 requests: numbers, location, 3 x (contact + send), a 4th contact; no 4th send.
        assert status.counts["failed"] == 0 and len(s.sends()) == 3
        assert [r for r in s.requests if r.status == 429] == []

        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})


async def test_pause_stops_claiming_and_resume_finishes_the_rest(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(20)
        engine = s.engine(workers=2)
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)

        def pause_after_five(progress: CampaignProgress) -> None:
            if progress.sent >= 5 and progress.state == CampaignState.RUNNING:
                engine.pause(campaign.id)

        summary = await engine.run([campaign.id], on_progress=pause_after_five)
        paused = summary.campaigns[0]
        assert paused.state == CampaignState.PAUSED
        assert 5 <= paused.sent < 20 and paused.pending == 20 - paused.sent
        assert engine.status(campaign.id).counts["sending"] == 0

        engine.resume(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})


async def test_cancel_skips_everyone_not_texted_yet(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(12)
        engine = s.engine(workers=1)
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)

        def cancel_after_three(progress: CampaignProgress) -> None:
            if progress.sent == 3 and progress.state == CampaignState.RUNNING:
                engine.cancel(campaign.id)

        await engine.run([campaign.id], on_progress=cancel_after_three)
        status = engine.status(campaign.id)
        assert status.campaign.state == CampaignState.CANCELLED
        sent = status.counts["sent"]
        assert sent in (3, 4) and len(s.sends()) == sent
        assert status.counts["skipped"] == 12 - sent
        assert {r.code for r in status.reasons} == {"cancelled"}
        with pytest.raises(CampaignStateError):
            engine.resume(campaign.id)


async def test_a_token_ghl_refuses_pauses_the_campaign_with_the_reason(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(3)
        s.tokens[s.location_id] = "pit-00000000-0000-4000-8000-000000000000"
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        summary = await engine.run([campaign.id])
        assert summary.campaigns[0].state == CampaignState.PAUSED
        status = engine.status(campaign.id)
        assert status.campaign.state_reason and status.counts["pending"] == 3


async def test_locations_are_pumped_in_parallel_each_at_its_own_limit(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path, burst_limit=8, burst_window=10.0) as s:
        locations = [s.add_location(f"L{i}", [f"+1415555{9000 + i:04d}"]) for i in range(3)]
        engine = s.engine(workers=3)
        campaigns = []
        for n, location_id in enumerate(locations):
            contacts = s.add_contacts(10, location_id=location_id, start=4000 + 100 * n)
            spec = CampaignSpec(location_id=location_id, template="Hi {first_name}")
            campaign = await engine.create(spec, ContactIdsSource(contacts))
            engine.start(campaign.id)
            campaigns.append(campaign.id)
        await engine.run(campaigns)

        for location_id in locations:
            assert sorted(s.outbound(location_id).values()) == [1] * 10
            times = sorted(r.at for r in s.requests if r.location_id == location_id)
            for i, t in enumerate(times):
                assert sum(1 for u in times[i:] if u < t + 10.0) <= 8
        assert [r for r in s.requests if r.status == 429] == []
        # Interleaved, not one location after the other.
        order = [r.location_id for r in s.requests[:12]]
        assert len(set(order)) == 3


async def test_a_draft_can_be_discarded_but_not_a_started_campaign(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        engine = s.engine()
        draft = await engine.create(_spec(s), ContactIdsSource([s.ids("reachable")]))
        engine.discard(draft.id)
        assert engine.campaigns() == []
        started = await engine.create(_spec(s), ContactIdsSource([s.ids("reachable")]))
        engine.start(started.id)
        with pytest.raises(CampaignStateError):
            engine.discard(started.id)


async def test_a_source_with_nobody_in_it_creates_no_campaign(tmp_path: Path) -> None:
    header_only = write_csv(tmp_path / "list.csv", ["phone", "first_name"], [])
    async with bulk_stack(tmp_path) as s:
        engine = s.engine()
        for source in (ContactIdsSource([]), TagSource("nobody-has-it"), CsvSource(header_only)):
            with pytest.raises(NoRecipients):
                await engine.create(_spec(s), source)
        assert engine.campaigns() == []


async def test_one_person_listed_twice_by_id_and_by_number_gets_one_text(tmp_path: Path) -> None:
    """Rows far apart, with different texts, one by contact id and one by phone: the
    person is resolved to their contact and number and texted once."""
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(30)
        pat0_phone = "+14155552000"
        rows = [[pats[0], "", "First"]]
        rows += [[p, "", f"Other {i}"] for i, p in enumerate(pats[1:])]
        rows += [["", pat0_phone, "Second"]]  # Pat0 again, 30 rows later, by number
        rows += [["", "(415) 555-2001", "Third"]]  # Pat1 again, by a national number
        csv_file = write_csv(tmp_path / "list.csv", ["contact_id", "phone", "greeting"], rows)
        engine = s.engine(workers=8)
        campaign = await engine.create(_spec(s, "{greeting}, hello"), CsvSource(csv_file))
        engine.start(campaign.id)
        await engine.run([campaign.id])

        assert s.outbound() == Counter({p: 1 for p in pats})
        assert s.bodies(pats[0]) == ["First, hello"]
        report = {r.seq: r for r in engine.report(campaign.id)}
        assert (report[31].state, report[31].reason_code) == ("skipped", "duplicate_recipient")
        assert "Row 31" in (report[31].reason or "") and "row 1 " in (report[31].reason or "")
        assert report[32].reason_code == "duplicate_recipient"
        assert "row 2 " in (report[32].reason or "")
        status = engine.status(campaign.id)
        assert status.counts["sent"] == 30 and status.counts["skipped"] == 2


async def test_two_workers_racing_for_one_person_text_them_once(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        [pat] = s.add_contacts(1)
        # Rows 1 and 2 are claimed together by two workers; row 3 is row 2's number
        # written another way (found at import).
        rows = [[pat, ""], ["", "+14155552000"], ["", "4155552000"]]
        csv_file = write_csv(tmp_path / "list.csv", ["contact_id", "phone"], rows)
        engine = s.engine(workers=8)
        campaign = await engine.create(_spec(s, "Hello"), CsvSource(csv_file))
        engine.start(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({pat: 1})
        codes = [r.reason_code for r in engine.report(campaign.id)]
        assert codes.count("duplicate_recipient") == 2


async def test_a_checked_dry_run_finds_the_same_person_listed_twice(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        [pat] = s.add_contacts(1)
        csv_file = write_csv(
            tmp_path / "list.csv", ["contact_id", "phone"], [[pat, ""], ["", "+14155552000"]]
        )
        engine = s.engine()
        campaign = await engine.create(_spec(s, "Hello"), CsvSource(csv_file))
        preview = await engine.preview(campaign.id, check_contacts=True)
        assert preview.would_send == 1
        assert [(r.code, r.count) for r in preview.skipped] == [("duplicate_recipient", 1)]


async def test_deferring_for_quiet_hours_costs_no_request_and_returns_at_once(
    tmp_path: Path,
) -> None:
    # Wednesday 02:00 UTC: 21:00 in New York, quiet hours for Eastern numbers.
    clock = FakeClock(datetime(2026, 3, 4, 2, 0, tzinfo=UTC).timestamp())
    rows = [[f"+1212555{1000 + i:04d}", f"P{i}"] for i in range(300)]
    csv_file = write_csv(tmp_path / "list.csv", ["phone", "first_name"], rows)
    async with bulk_stack(tmp_path, clock=clock) as s:
        engine = s.engine()
        campaign = await engine.create(_spec(s), CsvSource(csv_file))
        engine.start(campaign.id)
        started = clock.now()
        await engine.run([campaign.id], until="idle")

        assert s.requests == []  # no lookup, no budget slot for a deferral
        assert clock.now() - started < 1.0  # nothing paced: it returned at once
        status = engine.status(campaign.id)
        assert status.counts["deferred"] == 300
        eight_am_ny = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
        assert status.next_due_at == eight_am_ny
        assert status.campaign.waiting_reason == "quiet_hours"


async def test_a_recipient_due_again_goes_before_later_rows_never_tried(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(12)
        engine = s.engine(workers=1, retry_base=30.0)
        campaign = await engine.create(_spec(s, caps=Caps(per_minute=2)), ContactIdsSource(pats))
        engine.start(campaign.id)
        # Pat0's first send fails (after the client's own retries): it waits 30 s.
        s.sandbox.inject_fault("500", count=3, path="/conversations/messages", method="POST")
        await engine.run([campaign.id])

        assert s.outbound() == Counter({p: 1 for p in pats})
        order = [
            str(r[0])
            for r in s.sandbox.store.conn.execute(
                "SELECT contact_id FROM messages WHERE direction = 'outbound' ORDER BY seq"
            )
        ]
        # Two a minute: Pat0 is due again half a minute in, and goes as soon as the rows
        # already handed to the worker are done, not after every row never tried.
        assert order.index(pats[0]) <= 3, order


async def test_time_left_comes_from_the_caps_and_budget_that_apply(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(30)
        engine = s.engine()
        campaign = await engine.create(_spec(s, caps=Caps(per_minute=10)), ContactIdsSource(pats))
        assert engine.status(campaign.id).eta_seconds is None  # a draft: nothing moves
        engine.start(campaign.id)
        status = engine.status(campaign.id)
        assert status.eta_seconds == pytest.approx(180.0)  # 30 at 10 a minute
        assert status.next_due_at is None  # due now: not 1970
        seen: list[CampaignProgress] = []
        await engine.run([campaign.id], on_progress=seen.append)
        for p in seen:  # every snapshot: what is left, at the cap
            assert p.eta_seconds == pytest.approx(p.pending * 6.0), p
        assert seen[-1].eta_seconds == 0.0

        # Without a cap the request budget decides: 2 requests a contact, ~9.8 a second.
        uncapped = await engine.create(_spec(s, "Again"), ContactIdsSource(pats))
        engine.start(uncapped.id)
        assert engine.status(uncapped.id).eta_seconds == pytest.approx(60 * 1.02 / 10)


async def test_status_never_reports_sends_in_flight_when_no_process_is_sending(
    tmp_path: Path,
) -> None:
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(3)
        engine = s.engine()
        campaign = await engine.create(_spec(s), ContactIdsSource(pats))
        engine.start(campaign.id)
        engine.ledger.db.execute("UPDATE bulk_recipients SET state = 'sending' WHERE seq < 3")
        status = engine.status(campaign.id)
        assert not status.active
        assert status.counts["sending"] == 0 and status.interrupted == 2
        assert status.counts["pending"] == 1
        await engine.run([campaign.id])
        assert engine.status(campaign.id).interrupted == 0
        assert s.outbound() == Counter({p: 1 for p in pats})


async def test_a_pause_stops_the_sends_already_waiting_for_a_cap_slot(tmp_path: Path) -> None:
    """Workers that claimed a recipient and wait for their per-minute slot re-check the
    campaign after the wait: a pause from another process (`bulk pause`, the console)
    stops them, instead of letting each send once more."""
    async with bulk_stack(tmp_path) as s:
        pats = s.add_contacts(12)
        engine = s.engine(workers=8)
        other_process = s.engine()
        campaign = await engine.create(_spec(s, caps=Caps(per_minute=6)), ContactIdsSource(pats))
        engine.start(campaign.id)

        def pause_after_the_first(progress: CampaignProgress) -> None:
            if progress.sent >= 1 and progress.state == CampaignState.RUNNING:
                other_process.pause(campaign.id)

        summary = await engine.run([campaign.id], on_progress=pause_after_the_first)
        paused = summary.campaigns[0]
        assert paused.state == CampaignState.PAUSED
        assert len(s.sends()) == paused.sent == 1  # the 7 waiting workers sent nothing
        assert engine.status(campaign.id).counts["sending"] == 0

        engine.resume(campaign.id)
        await engine.run([campaign.id])
        assert s.outbound() == Counter({p: 1 for p in pats})
