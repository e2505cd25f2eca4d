"""sms_bulk_send and sms_campaign's status: a campaign from an assistant, confirmed first."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
AVA, BEN, CHLOE = "sbxCtReachable000001", "sbxCtSmsDnd000000001", "sbxCtEmailDnd0000001"
DAN = "sbxCtNoPhone00000001"
RECIPIENTS = [AVA, BEN, CHLOE, DAN]


async def campaign_status(s: Any, campaign_id: str) -> dict[str, Any]:
    out = await s.ok("sms_campaign", action="status", campaign_id=campaign_id)
    (status,) = out["campaigns"]
    assert isinstance(status, dict)
    return status


async def finished(s: Any, campaign_id: str) -> dict[str, Any]:
    """The campaign's status once its background run has nothing left to do."""
    with anyio.fail_after(10):
        while True:
            status = await campaign_status(s, campaign_id)
            if status["left"] == 0 and status["state"] != "running":
                return status
            await anyio.sleep(0)  # let the background run go on; no timing involved


async def test_a_dry_run_previews_counts_skips_and_samples_and_sends_nothing(
    connect: Any,
) -> None:
    async with connect() as s:
        out = await s.ok(
            "sms_bulk_send",
            template="Hi {first_name|there}, your cleaning is due.",
            contact_ids=[*RECIPIENTS, AVA],
            dry_run=True,
        )
        # The counts are those after the preflight: Ben's DND and Dan's missing number
        # are known before the user is asked.
        assert out["outcome"] == "dry_run" and out["recipients"] == 5
        assert out["skipped"] == {"duplicate_recipient": 1, "sms_dnd": 1, "no_phone": 1}
        assert out["will_send"] == 2
        assert out["samples"] == [
            "Hi Ava, your cleaning is due.", "Hi Chloe, your cleaning is due."
        ]  # fmt: skip
        assert all(s.sent(c) == [] for c in RECIPIENTS)


@pytest.mark.parametrize("mode", MODES)
async def test_a_confirmed_campaign_texts_each_eligible_contact_exactly_once(
    connect: Any, user: Any, mode: str
) -> None:
    async with connect(mode=mode, user=user) as s:
        out = await s.ok("sms_bulk_send", template="Hi {first_name|there}!", contact_ids=RECIPIENTS)
        assert out["outcome"] == "started"
        question = user.asked[0]
        assert "Send this campaign to 2 of 4 recipients?" in question
        assert "to sbxCtReachable000001: Hi Ava!" in question  # rendered, not the template
        assert "Skipped: 2 (1 sms_dnd, 1 no_phone)" in question or (
            "Skipped: 2 (1 no_phone, 1 sms_dnd)" in question
        )
        assert "--" not in question  # no command-line flag for an assistant to try
        status = await finished(s, out["campaign_id"])
        assert (status["sent"], status["skipped"]) == (2, 2)
        assert status["reasons"] == {"skipped:sms_dnd": 1, "skipped:no_phone": 1}
        assert [m[1] for m in s.sent(AVA)] == ["Hi Ava!"]
        assert [m[1] for m in s.sent(CHLOE)] == ["Hi Chloe!"]
        assert s.sent(BEN) == [] and s.sent(DAN) == []
        again = await s.ok(
            "sms_bulk_send", template="Hi {first_name|there}!", contact_ids=RECIPIENTS
        )
        assert (again["outcome"], again["campaign_id"]) == ("already_started", out["campaign_id"])
        assert len(s.sent(AVA)) == 1


async def test_without_elicitation_the_preview_comes_back_until_confirmed(connect: Any) -> None:
    async with connect() as s:
        text = await s.error("sms_bulk_send", template="Sale!", contact_ids=[AVA, CHLOE])
        assert "Not started yet" in text and "Send this campaign to 2 of 2" in text
        assert "confirmed=true" in text
        assert s.sent(AVA) == []
        out = await s.ok("sms_bulk_send", template="Sale!", contact_ids=[AVA, CHLOE],
                         confirmed=True)  # fmt: skip
        assert out["outcome"] == "started"
        await finished(s, out["campaign_id"])
        assert len(s.sent(AVA)) == 1 and len(s.sent(CHLOE)) == 1


async def test_a_declined_campaign_starts_nothing(connect: Any, user: Any) -> None:
    user.action = "decline"
    async with connect(user=user) as s:
        text = await s.error("sms_bulk_send", template="Sale!", contact_ids=[AVA])
        assert "did not approve" in text
        user.action = "accept"
        out = await s.ok("sms_bulk_send", template="Sale!", contact_ids=[AVA], dry_run=True)
        assert out["outcome"] == "dry_run"  # the declined draft was discarded, not kept
        assert s.sent(AVA) == []


async def test_a_campaign_can_be_cancelled_and_says_so(connect: Any) -> None:
    async with connect(confirm=False) as s:
        s.stack.ledger.record_opt_out(
            s.stack.client.location_id, contact_id=CHLOE, source="keyword"
        )
        out = await s.ok("sms_bulk_send", template="Hi", contact_ids=[AVA, CHLOE])
        done = await s.ok("sms_cancel", campaign_id=out["campaign_id"])
        assert done == {"campaign_id": out["campaign_id"], "cancelled": True}
        status = await campaign_status(s, out["campaign_id"])
        assert status["state"] == "cancelled"
        assert s.sent(CHLOE) == []


async def test_bad_requests_become_tool_errors(connect: Any) -> None:
    async with connect(confirm=False) as s:
        both = await s.error("sms_bulk_send", template="x", contact_ids=[AVA], tag="vip")
        assert "exactly one recipient source" in both
        missing = await s.error("sms_bulk_send", template="x", csv_path="/nope/list.csv")
        assert "No CSV file" in missing
        unknown = await s.error("sms_campaign", action="status", campaign_id="cmp_nope")
        assert "cmp_nope" in unknown
        nobody = await s.error("sms_bulk_send", template="x", tag="no-such-tag")
        assert "No contact in this location has the tag 'no-such-tag'" in nobody
        blank = await s.error("sms_bulk_send", template="x", contact_ids=[" "])
        assert "No contact ids were given" in blank
        neither = await s.error("sms_cancel")
        assert "message_id" in neither and "campaign_id" in neither


async def test_a_location_another_process_is_pumping_is_left_to_it(
    connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ghl_sms.ops.bulk import BulkEngine, Owner

    runs: list[object] = []
    real_run = BulkEngine.run

    async def counted_run(self: BulkEngine, *args: Any, **kwargs: Any) -> Any:
        runs.append(args)
        return await real_run(self, *args, **kwargs)

    monkeypatch.setattr(BulkEngine, "run", counted_run)

    async with connect(confirm=False) as s:
        # Another process holds this location's pump lease (a `ghl-sms bulk send` running).
        from ghl_sms.ops.bulk import SqliteLeases

        leases = SqliteLeases(s.stack.ledger.db)
        other = Owner(id="other-process", host="elsewhere", pid=1)
        assert leases.acquire(s.stack.client.location_id, other, s.stack.clock.now(), 3600.0)
        out = await s.ok("sms_bulk_send", template="Hi", contact_ids=[AVA])
        with anyio.fail_after(5):
            status = await campaign_status(s, out["campaign_id"])
            for _ in range(50):
                await anyio.sleep(0)  # give a spinning runner every chance to show itself
        assert status["state"] == "running" and status["sent"] == 0
        assert s.sent(AVA) == []
        assert len(runs) == 1  # it saw the location busy and left it, instead of spinning
