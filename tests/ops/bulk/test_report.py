"""``bulk report``: who each row turned out to be, the text it got, and attempts that are
send requests (not lookups, not adoptions)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx2
import pytest

from ghl_sms.ops._migrations import MIGRATIONS
from ghl_sms.ops.bulk import CampaignSpec, ContactIdsSource, CsvSource
from ghl_sms.ops.bulk.report import REPORT_FIELDS
from support.bulk import BulkStack, bulk_stack, write_csv

pytestmark = pytest.mark.anyio

AVA_PHONE = "+14155550100"  # the sandbox's Ava Reed
BEN_PHONE = "+14155550102"  # Ben Carter, SMS DND


def _spec(s: BulkStack, template: str, **kw: object) -> CampaignSpec:
    return CampaignSpec(location_id=s.location_id, template=template, **kw)  # type: ignore[arg-type]


async def test_csv_rows_get_their_contact_name_and_text_once_resolved(tmp_path: Path) -> None:
    csv_file = write_csv(
        tmp_path / "list.csv",
        ["phone", "contact_id", "first_name", "slot"],
        [
            [AVA_PHONE, "", "Ava", "3pm"],  # a number GHL knows: resolved to Ava's contact
            [BEN_PHONE, "", "Benny", "4pm"],  # DND: skipped, but we know who he is now
            ["555", "", "Zed", "5pm"],  # invalid: skipped before any lookup
            ["", "", "Nobody", "6pm"],
        ],
    )
    async with bulk_stack(tmp_path) as s:
        hugo = s.ids("quiet_hours_fl")
        with csv_file.open("a", encoding="utf-8") as handle:
            handle.write(f",{hugo},Hugo,7pm\n")  # by contact id: its number is filled in
        engine = s.engine()
        campaign = await engine.create(
            _spec(s, "Hi {first_name}, see you at {slot}.", transactional=True),
            CsvSource(csv_file),
        )
        engine.start(campaign.id)
        await engine.run([campaign.id])
        rows = {r.seq: r.to_dict() for r in engine.report(campaign.id)}

    assert list(rows[1]) == list(REPORT_FIELDS)
    ava = rows[1]
    assert ava["contact_id"] == s.ids("reachable") and ava["contact_name"] == "Ava Reed"
    assert (ava["phone"], ava["state"], ava["attempts"]) == (AVA_PHONE, "sent", 1)
    assert ava["text"] == "Hi Ava, see you at 3pm." and ava["message_id"]

    ben = rows[2]
    assert ben["contact_id"] == s.ids("sms_dnd") and ben["contact_name"] == "Ben Carter"
    assert (ben["state"], ben["reason_code"], ben["attempts"]) == ("skipped", "sms_dnd", 0)
    assert ben["text"] is None and ben["message_id"] is None

    invalid = rows[3]
    assert (invalid["contact_id"], invalid["phone"], invalid["contact_name"]) == (
        None,
        "555",
        "Zed",
    )
    assert (invalid["reason_code"], invalid["attempts"], invalid["text"]) == (
        "invalid_phone",
        0,
        None,
    )
    assert rows[4]["reason_code"] == "no_phone" and rows[4]["attempts"] == 0

    by_id = rows[5]
    assert (by_id["contact_id"], by_id["phone"]) == (hugo, "+13055550100")
    assert by_id["contact_name"] == "Hugo Ito" and by_id["text"] == "Hi Hugo, see you at 7pm."
    assert by_id["updated_at"].endswith("Z") and by_id["not_before"] is None


async def test_attempts_count_send_requests_not_lookups_or_adoptions(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        looked_up_twice, refused_once, lost_answer = s.add_contacts(3)
        # A contact lookup that fails once: a try, but no send request.
        s.sandbox.inject_fault("500", count=1, method="GET", path=f"/contacts/{looked_up_twice}")
        engine = s.engine(retry_base=30.0, workers=1)
        campaign = await engine.create(
            _spec(s, "Hi {first_name}!"),
            ContactIdsSource([looked_up_twice, refused_once, lost_answer]),
        )
        engine.start(campaign.id)

        faulted: set[str] = set()

        async def faults(request: httpx2.Request) -> None:
            # The second recipient's first POST is refused unprocessed (500), the third's
            # is processed but its answer lost (adopted, not sent again).
            if request.method != "POST" or request.url.path != "/conversations/messages":
                return
            body = json.loads(request.content)
            to = body["contactId"]
            if to in faulted:
                return
            faulted.add(to)
            kind = {refused_once: "500", lost_answer: "500_after"}.get(to)
            if kind is not None:
                s.sandbox.inject_fault(kind, path="/conversations/messages", method="POST")  # type: ignore[arg-type]

        s.before = faults
        await engine.run([campaign.id])
        rows = {r.seq: r for r in engine.report(campaign.id)}

        assert {r.state for r in rows.values()} == {"sent"}
        assert s.bodies(refused_once) == ["Hi Pat1!"] and s.bodies(lost_answer) == ["Hi Pat2!"]
        assert [rows[n].attempts for n in (1, 2, 3)] == [1, 2, 1]
        assert rows[3].message_id == s.outbound_ids(lost_answer)[0]


async def test_a_killed_send_counts_as_an_attempt_once_it_may_have_gone(tmp_path: Path) -> None:
    async with bulk_stack(tmp_path) as s:
        [pat] = s.add_contacts(1)
        first = s.engine()
        campaign = await first.create(_spec(s, "Hi {first_name}!"), ContactIdsSource([pat]))
        first.start(campaign.id)

        class Killed(BaseException):
            pass

        async def kill(request: object) -> None:
            if s.sends():
                raise Killed  # GHL has the message; the process dies before the answer

        s.after = kill  # type: ignore[assignment]
        with pytest.raises(BaseExceptionGroup):
            await first.run([campaign.id])
        s.after = None
        s.clock.advance(120.0)
        resumed = s.engine()
        resumed.resume(campaign.id)
        await resumed.run([campaign.id])
        [row] = resumed.report(campaign.id)
        assert (row.state, row.attempts) == ("sent", 1)
        assert s.outbound()[pat] == 1 and row.text == "Hi Pat0!"


def test_the_report_migration_keeps_tries_and_counts_sends_already_made() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    for name, fn in MIGRATIONS:
        if name < "m007":
            fn(db)
    db.execute(
        "INSERT INTO bulk_recipients (campaign_id, seq, state, idempotency_key, attempts, "
        "updated_at) VALUES ('c', 1, 'failed', 'bulk:c:1', 3, 0), "
        "('c', 2, 'sent', 'bulk:c:2', 0, 0)"
    )
    db.execute(
        "INSERT INTO sends (idempotency_key, key_origin, location_id, text, text_hash, state, "
        "created_at, updated_at) VALUES ('bulk:c:2', 'caller', 'loc', 'Hi', 'h', 'sent', 0, 0)"
    )
    dict(MIGRATIONS)["m007_bulk_report"](db)
    rows = db.execute("SELECT seq, tries, attempts FROM bulk_recipients ORDER BY seq").fetchall()
    assert rows == [(1, 3, 0), (2, 0, 1)]
