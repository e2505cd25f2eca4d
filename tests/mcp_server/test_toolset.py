"""What an assistant asks before and after "send": find the person, check, send, look back.

The walks of issue 13: a name to a send in two calls, a refusal the assistant can explain,
history and status afterwards; an opt-out a customer phoned in; campaigns paused and
resumed; media on a campaign.
"""

from __future__ import annotations

from typing import Any

import pytest

from ghl_sms.ops.bulk import Owner, SqliteLeases
from ghl_sms.ops.optouts import OptOutBook

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
AVA, AVA_PHONE = "sbxCtReachable000001", "+14155550100"
BEN = "sbxCtSmsDnd000000001"
CHLOE = "sbxCtEmailDnd0000001"


async def find(s: Any, name: str) -> dict[str, Any]:
    """The one contact sms_contacts finds by name."""
    out = await s.ok("sms_contacts", query=name)
    (contact,) = out["contacts"]
    assert isinstance(contact, dict) and out["total"] == 1
    return contact


@pytest.mark.parametrize("mode", MODES)
async def test_a_name_to_a_send_then_history_and_status(connect: Any, user: Any, mode: str) -> None:
    async with connect(mode=mode, user=user if mode == "auto" else None) as s:
        # Ben Carter: found by name, with his SMS DND showing before anyone tries.
        ben = await find(s, "Ben Carter")
        assert ben["id"] == BEN and ben["phone"] == "+14155550102"
        assert ben["sms_dnd"] is True and ben["opted_out"] is False
        check = await s.ok("sms_check", contact_id=ben["id"])
        assert check["verdict"] == "blocked" and check["sms_dnd"] is True
        assert "dnd" in " ".join(n["code"] for n in check["notes"])
        refused = await s.error("sms_send", text="See you Thursday", contact_id=ben["id"])
        assert "Not sent" in refused and "DND" in refused
        assert s.sent(BEN) == []

        # Ava Reed: the happy path, two calls from her name to the send.
        ava = await find(s, "ava reed")
        assert ava["id"] == AVA and ava["sms_dnd"] is False
        assert (await s.ok("sms_check", contact_id=ava["id"]))["verdict"] in ("ok", "warn")
        arguments = {"text": "See you Thursday", "contact_id": ava["id"]}
        if mode == "legacy":  # no elicitation: the user approves in the chat
            assert "confirmed=true" in await s.error("sms_send", **arguments)
            arguments["confirmed"] = True
        sent = await s.ok("sms_send", **arguments)
        assert sent["outcome"] == "sent" and sent["contact_name"] == "Ava Reed"
        assert s.texted(sent["message_id"]) == AVA_PHONE

        # History shows the send (and only it: Ben's refusal never reached GHL).
        history = await s.ok("sms_history")
        (entry,) = history["sends"]
        assert entry["message_id"] == sent["message_id"] and entry["to_number"] == AVA_PHONE
        assert entry["contact_name"] == "Ava Reed" and entry["text"] == "See you Thursday"
        assert entry["parts"] == 1 and entry["cost_usd"] > 0
        assert (await s.ok("sms_history", contact_id=AVA))["sends"] == [entry]
        assert (await s.ok("sms_history", to_number="(415) 555-0100"))["sends"] == [entry]
        assert (await s.ok("sms_history", contact_id=BEN))["sends"] == []

        status = await s.ok("sms_status", message_id=entry["message_id"])
        assert status["message_id"] == sent["message_id"] and status["status"]


async def test_a_failed_send_is_explained_in_history(connect: Any) -> None:
    async with connect(confirm=False) as s:
        lena = await find(s, "Lena Moore")  # the carrier filters her texts (30007)
        sent = await s.ok("sms_send", text="Hi", contact_id=lena["id"], transactional=True)
        s.stack.clock.advance(60)
        await s.ok("sms_status", message_id=sent["message_id"])  # GHL reports the failure
        (entry,) = (await s.ok("sms_history", status="failed,undelivered"))["sends"]
        assert entry["message_id"] == sent["message_id"] and entry["status"] == "undelivered"
        assert "filter" in entry["why"].lower()
        assert (await s.ok("sms_history", status="delivered"))["sends"] == []
        unknown = await s.error("sms_history", status="lost")
        assert "Unknown status 'lost'" in unknown and "scheduled" in unknown


@pytest.mark.parametrize("who", [AVA, AVA_PHONE, "(415) 555-0100"])
async def test_an_opt_out_recorded_by_hand_refuses_the_next_send(connect: Any, who: str) -> None:
    async with connect(confirm=False) as s:
        done = await s.ok("sms_cancel", opt_out=who)
        assert done["cancelled"] is True and done["opted_out"] == AVA_PHONE
        assert "refused from now on" in done["note"] and "ghl-sms optouts remove" in done["note"]

        assert (await find(s, "Ava Reed"))["opted_out"] is True
        check = await s.ok("sms_check", contact_id=AVA)
        assert check["verdict"] == "blocked" and check["opted_out"] is True
        for recipient in ({"contact_id": AVA}, {"to_number": AVA_PHONE}):
            refused = await s.error("sms_send", text="Hi", **recipient)
            assert "Not sent" in refused and "opt" in refused.lower()
        assert s.sent(AVA) == []

        # Recorded as a manual opt-out, with who did it, as the CLI's would be.
        location = s.stack.client.location_id
        (entry,) = OptOutBook(s.stack.ledger, s.stack.clock).opt_outs(location)
        assert (entry.phone, entry.source) == (AVA_PHONE, "manual")
        (audit,) = OptOutBook(s.stack.ledger, s.stack.clock).audit(location)
        assert audit.action == "add" and audit.actor == "assistant (MCP)"

        again = await s.ok("sms_cancel", opt_out=AVA_PHONE)
        assert "opted out already" in again["note"]


async def test_opt_outs_cannot_be_lifted_over_mcp(connect: Any) -> None:
    async with connect(confirm=False) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        arguments = {name for t in tools.values() for name in t.input_schema["properties"]}
        assert "opt_out" in arguments
        assert not {a for a in arguments if "opt_in" in a or "lift" in a or "remove" in a}
        nobody = await s.error("sms_cancel", opt_out="")
        assert "opt_out is empty" in nobody
        no_phone = await s.error("sms_cancel", opt_out="sbxCtNoPhone00000001")
        assert "has no phone number" in no_phone
        two = await s.error("sms_cancel", opt_out=AVA, message_id="m1")
        assert "Give one of" in two


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("sms_send", {"text": "Hi"}),
        ("sms_check", {}),
        ("sms_thread", {}),
        ("sms_contacts", {}),
        ("sms_history", {}),
    ],
)
async def test_a_phone_number_given_as_contact_id_says_to_use_to_number(
    connect: Any, tool: str, arguments: dict[str, Any]
) -> None:
    async with connect(confirm=False) as s:
        text = await s.error(tool, contact_id="+1 415 555 0100", **arguments)
        assert "is a phone number, not a contact id" in text and "to_number" in text
        assert "--to" not in text
        assert s.outbound_count() == 0


async def test_contacts_page_by_tag_and_show_one_in_full(connect: Any) -> None:
    async with connect() as s:
        first = await s.ok("sms_contacts", tag="sandbox", limit=2)
        assert len(first["contacts"]) == 2 and first["total"] > 2
        second = await s.ok("sms_contacts", cursor=first["next_cursor"])
        seen = {c["id"] for c in first["contacts"]}
        assert len(second["contacts"]) == 2 and not seen & {c["id"] for c in second["contacts"]}
        assert all(c["sms_dnd"] in (True, False) for c in first["contacts"])  # always looked up

        hugo = await s.ok("sms_contacts", contact_id="sbxCtFlorida00000001")
        (one,) = hugo["contacts"]
        assert one["name"] == "Hugo Ito" and one["timezone"] == "America/New_York"
        assert one["fields"]["first_name"] == "Hugo"

        foreign = await s.error("sms_contacts", cursor=await _history_cursor(s))
        assert "not a next_cursor that sms_contacts returned" in foreign
        both = await s.error("sms_contacts", contact_id=AVA, query="Ava")
        assert "not both" in both
        missing = await s.error("sms_contacts", contact_id="noSuchContact0000000")
        assert "No contact 'noSuchContact0000000'" in missing
        assert (await s.ok("sms_contacts", query="Nobody Atall"))["contacts"] == []


async def _history_cursor(s: Any) -> str:
    for _ in range(2):
        await s.stack.service.send(_request(s))
    cursor = (await s.ok("sms_history", limit=1))["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


def _request(s: Any) -> Any:
    from ghl_sms.ops.service import SendRequest

    n = s.outbound_count()
    return SendRequest(text=f"Note {n}", contact_id=AVA, transactional=True)


async def test_history_pages_and_lists_what_is_still_scheduled(connect: Any) -> None:
    async with connect(confirm=False) as s:
        later = await s.ok("sms_send", text="Later", contact_id=AVA, send_at="2d")
        sooner = await s.ok("sms_send", text="Sooner", contact_id=CHLOE, send_at="1d")
        now = await s.ok("sms_send", text="Now", contact_id=AVA, transactional=True)

        page = await s.ok("sms_history", limit=2)
        assert [e["text"] for e in page["sends"]] == ["Now", "Sooner"]
        rest = await s.ok("sms_history", limit=2, cursor=page["next_cursor"])
        assert [e["text"] for e in rest["sends"]] == ["Later"] and "next_cursor" not in rest

        waiting = await s.ok("sms_history", status="scheduled")
        assert [e["message_id"] for e in waiting["sends"]] == [
            sooner["message_id"],
            later["message_id"],
        ]  # soonest first
        assert all(e["status"] == "scheduled" and e["scheduled_at"] for e in waiting["sends"])
        await s.ok("sms_cancel", message_id=sooner["message_id"])
        left = await s.ok("sms_history", status="scheduled")
        assert [e["message_id"] for e in left["sends"]] == [later["message_id"]]
        assert now["message_id"] not in {e["message_id"] for e in left["sends"]}

        future = await s.error("sms_history", since="2099-01-01T00:00:00Z")
        assert "in the future" in future
        assert (await s.ok("sms_history", since="1h"))["sends"]


def _hold_the_location(s: Any) -> None:
    """Another process sends this location's campaigns: ours stays running, unsent."""
    leases = SqliteLeases(s.stack.ledger.db)
    other = Owner(id="other-process", host="elsewhere", pid=1)
    assert leases.acquire(s.stack.client.location_id, other, s.stack.clock.now(), 3600.0)


async def test_campaigns_list_status_pause_and_resume_with_the_users_approval(
    connect: Any, user: Any
) -> None:
    async with connect(user=user) as s:
        _hold_the_location(s)
        out = await s.ok("sms_bulk_send", template="Hi {first_name}", contact_ids=[AVA, CHLOE])
        campaign_id = out["campaign_id"]
        listed = await s.ok("sms_campaign", action="list")
        assert [c["campaign_id"] for c in listed["campaigns"]] == [campaign_id]
        (running,) = listed["campaigns"]
        assert running["state"] == "running" and running["recipients"] == 2
        assert running["name"]

        paused = await s.ok("sms_campaign", action="pause", campaign_id=campaign_id)
        assert paused["campaigns"][0]["state"] == "paused"
        again = await s.ok("sms_campaign", action="pause", campaign_id=campaign_id)
        assert again["campaigns"][0]["state"] == "paused"  # idempotent

        asked = len(user.asked)
        user.send = False
        declined = await s.error("sms_campaign", action="resume", campaign_id=campaign_id)
        assert "stays paused" in declined
        assert "Resume campaign" in user.asked[asked] and "2 of 2 recipients" in user.asked[asked]
        status = await s.ok("sms_campaign", action="status", campaign_id=campaign_id)
        assert status["campaigns"][0]["state"] == "paused"

        user.send = True
        resumed = await s.ok("sms_campaign", action="resume", campaign_id=campaign_id)
        assert resumed["campaigns"][0]["state"] == "running"
        assert s.sent(AVA) == []  # the other process holds the location


async def test_a_resume_without_elicitation_needs_confirmed(connect: Any) -> None:
    async with connect(mode="legacy") as s:
        _hold_the_location(s)
        out = await s.ok("sms_bulk_send", template="Hi", contact_ids=[AVA], confirmed=True)
        campaign_id = out["campaign_id"]
        await s.ok("sms_campaign", action="pause", campaign_id=campaign_id)
        first = await s.error("sms_campaign", action="resume", campaign_id=campaign_id)
        assert "Not resumed yet" in first and "confirmed=true" in first
        status = await s.ok("sms_campaign", action="status", campaign_id=campaign_id)
        assert status["campaigns"][0]["state"] == "paused"
        resumed = await s.ok(
            "sms_campaign", action="resume", campaign_id=campaign_id, confirmed=True
        )
        assert resumed["campaigns"][0]["state"] == "running"


async def test_campaign_requests_that_make_no_sense_say_what_to_do(connect: Any) -> None:
    async with connect(confirm=False) as s:
        assert (await s.ok("sms_campaign", action="list"))["campaigns"] == []
        assert "needs a campaign_id" in await s.error("sms_campaign", action="status")
        assert "No campaign 'cmp_nope'" in await s.error(
            "sms_campaign", action="pause", campaign_id="cmp_nope"
        )
        assert "use action='status'" in await s.error(
            "sms_campaign", action="list", campaign_id="cmp_nope"
        )
        out = await s.ok("sms_bulk_send", template="Hi", contact_ids=[AVA])
        await s.ok("sms_cancel", campaign_id=out["campaign_id"])
        stopped = await s.error("sms_campaign", action="resume", campaign_id=out["campaign_id"])
        assert "can't resume it" in stopped


async def test_media_on_a_campaign_makes_it_an_mms_the_user_sees(connect: Any, user: Any) -> None:
    async with connect(user=user) as s:
        plain = await s.ok("sms_bulk_send", template="Hi", contact_ids=[AVA], dry_run=True)
        mms = await s.ok(
            "sms_bulk_send",
            template="Hi",
            contact_ids=[AVA],
            media_urls=["https://example.com/flyer.jpg"],
            dry_run=True,
        )
        assert mms["cost_usd"] > plain["cost_usd"]
        _hold_the_location(s)
        started = await s.ok(
            "sms_bulk_send", template="Hi", contact_ids=[AVA], media_urls=["https://x.test/a.png"]
        )
        assert "Attached to each (MMS): https://x.test/a.png" in user.asked[-1]
        row = s.stack.ledger.db.execute(
            "SELECT attachments FROM bulk_campaigns WHERE id = ?", (started["campaign_id"],)
        ).fetchone()
        assert "https://x.test/a.png" in row[0]


async def test_the_instructions_send_people_to_sms_contacts_not_the_inbox(connect: Any) -> None:
    from ghl_sms.mcp_server.server import INSTRUCTIONS

    assert "sms_contacts" in INSTRUCTIONS and "with sms_inbox" not in INSTRUCTIONS
    async with connect() as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    assert "sms_contacts" in (tools["sms_send"].description or "")
    assert "sms_send(contact_id=" in (tools["sms_contacts"].description or "")


@pytest.mark.parametrize("raw", ["nan|0", "1e300|0", "0|-5", "x|1", "12"])
async def test_a_forged_history_cursor_is_refused_in_words(connect: Any, raw: str) -> None:
    from ghl_sms.mcp_server._cursor import issue

    async with connect() as s:
        text = await s.error("sms_history", cursor=issue("sms_history", raw))
        assert "not a next_cursor that sms_history returned" in text
