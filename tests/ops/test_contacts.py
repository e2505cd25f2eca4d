"""Finding contacts (ops/contacts.py) against the in-process sandbox's seeded location."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.ops.contacts import ContactDirectory
from ghl_sms.ops.errors import PhoneGivenAsContact, RecipientNotFound, UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest
from ghl_sms.sandbox import Sandbox
from support.stack import WEEKDAY_NOON, stack

pytestmark = pytest.mark.anyio

SEEDED = 13  # contacts in the demo location


class Counting(httpx2.AsyncBaseTransport):
    """The sandbox's transport, noting each request line: what reached "GHL"."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lines: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.lines.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)


@dataclass
class Setup:
    sandbox: Sandbox
    ledger: Ledger
    directory: ContactDirectory
    wire: Counting
    ids: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def directory() -> AsyncIterator[Setup]:
    clock = FakeClock(WEEKDAY_NOON)
    sandbox = Sandbox(clock=clock)
    wire = Counting(sandbox.transport())
    client = GhlClient(
        token=sandbox.token,
        location_id=sandbox.location_id,
        base_url=sandbox.base_url,
        transport=wire,
        clock=clock,
        rng=random.Random(0),
        retry=RetryPolicy(max_retries=1),
    )
    ledger = Ledger.open(":memory:", clock)
    try:
        yield Setup(sandbox, ledger, ContactDirectory(client, ledger), wire, sandbox.seed_ids)
    finally:
        await client.aclose()
        ledger.close()
        sandbox.close()


async def test_a_name_finds_ben_with_his_phone_tags_and_sms_dnd() -> None:
    async with directory() as s:
        page = await s.directory.search("ben")
        assert [c.id for c in page.contacts] == [s.ids["sms_dnd"]]
        ben = page.contacts[0]
        assert (ben.name, ben.phone, ben.email) == ("Ben Carter", "+14155550102",
                                                    "ben.carter@example.com")  # fmt: skip
        assert ben.tags == ["sandbox", "sms_dnd"]
        # Search results omit DND: a small page reads each contact once more for it.
        assert ben.sms_dnd is True and ben.opted_out is False
        assert (page.total, page.next_cursor, page.dnd_checked, page.matched_by) == (
            1, None, True, "search",
        )  # fmt: skip
        assert s.wire.lines == ["POST /contacts/search", f"GET /contacts/{s.ids['sms_dnd']}"]


async def test_a_reachable_contact_shows_no_dnd() -> None:
    async with directory() as s:
        page = await s.directory.search("Ava Reed", limit=50)  # 1 shown: a small page
        assert [(c.name, c.sms_dnd) for c in page.contacts] == [("Ava Reed", False)]


async def test_pages_follow_the_cursor_to_the_end_without_repeats() -> None:
    async with directory() as s:
        seen: list[str] = []
        page = await s.directory.search(tag="sandbox", limit=5)
        cursors = []
        while True:
            seen += [c.id for c in page.contacts]
            assert page.total == SEEDED
            if page.next_cursor is None:
                break
            cursors.append(page.next_cursor)
            page = await s.directory.search(tag="sandbox", cursor=page.next_cursor)
        assert len(seen) == SEEDED and len(set(seen)) == SEEDED
        assert len(cursors) == 2  # 5 + 5 + 3


async def test_a_large_page_says_dnd_unknown_instead_of_a_request_per_row() -> None:
    async with directory() as s:
        for n in range(10):
            s.sandbox.create_contact({"firstName": f"Extra{n}", "phone": f"+1415555016{n}"})
        page = await s.directory.search(limit=50)
        assert len(page.contacts) == SEEDED + 10 and page.dnd_checked is False
        assert {c.sms_dnd for c in page.contacts} == {None}
        assert s.wire.lines == ["POST /contacts/search"]
        checked = await s.directory.search(limit=50, check_dnd=True)
        assert checked.dnd_checked and {c.sms_dnd for c in checked.contacts} == {True, False}
        unchecked = await s.directory.search("ben", check_dnd=False)
        assert unchecked.contacts[0].sms_dnd is None and not unchecked.dnd_checked


@pytest.mark.parametrize("written", ["(415) 555-0102", "+14155550102", "415.555.0102"])
async def test_an_exact_phone_uses_the_duplicate_lookup(written: str) -> None:
    async with directory() as s:
        by_option = await s.directory.search(phone=written)
        by_text = await s.directory.search(written)
        for page in (by_option, by_text):
            assert [c.id for c in page.contacts] == [s.ids["sms_dnd"]]
            assert page.matched_by == "phone" and page.contacts[0].sms_dnd is True
        # GHL's search phone filter finds nothing live, so it is never used.
        assert "POST /contacts/search" not in s.wire.lines
        assert s.wire.lines[0] == "GET /contacts/search/duplicate"


async def test_a_phone_with_other_criteria_must_match_them_all() -> None:
    async with directory() as s:
        assert len((await s.directory.search(phone="+14155550102", tag="SMS_DND")).contacts) == 1
        assert (await s.directory.search(phone="+14155550102", tag="vip")).contacts == []
        assert (await s.directory.search("Ava", phone="+14155550102")).contacts == []
        same = await s.directory.search("(415) 555-0102", phone="+14155550102")
        assert [c.id for c in same.contacts] == [s.ids["sms_dnd"]]
        nobody = await s.directory.search(phone="+14155550177")
        assert (nobody.contacts, nobody.total, nobody.next_cursor) == ([], 0, None)


async def test_an_email_finds_its_contact_whatever_the_case() -> None:
    async with directory() as s:
        page = await s.directory.search(email="Chloe.Diaz@Example.com")
        assert [c.name for c in page.contacts] == ["Chloe Diaz"]
        assert page.contacts[0].sms_dnd is False  # email DND only


async def test_a_local_opt_out_shows_with_its_source() -> None:
    async with directory() as s:
        s.ledger.record_opt_out(s.sandbox.location_id, phone="+14155550100", source="manual")
        ava = (await s.directory.search("Ava")).contacts[0]
        assert (ava.opted_out, ava.opt_out_source) == (True, "manual")
        assert ava.sms_dnd is False  # GHL knows nothing of it; we do
        detail = await s.directory.show(s.ids["reachable"])
        assert detail.opted_out and detail.opt_out_source == "manual"
        assert detail.opted_out_at is not None


async def test_show_has_dnd_per_channel_time_zone_and_custom_fields() -> None:
    async with directory() as s:
        ben = await s.directory.show(s.ids["sms_dnd"])
        assert ben.sms_dnd and not ben.dnd
        assert ben.dnd_channels["SMS"].status == "active"
        chloe = await s.directory.show(s.ids["email_dnd"])
        assert not chloe.sms_dnd and chloe.dnd_channels["Email"].status == "active"
        hugo = await s.directory.show(s.ids["quiet_hours_fl"])
        assert (hugo.timezone, hugo.state, hugo.city) == ("America/New_York", "FL", "Miami")
        assert (hugo.quiet_hours_zones, hugo.quiet_hours_zone_source) == (
            ["America/New_York"], "contact",
        )  # fmt: skip
        ivy = await s.directory.show(s.ids["quiet_hours_tx"])
        assert ivy.timezone is None and ivy.quiet_hours_zone_source == "number"
        created = s.sandbox.create_contact(
            {"firstName": "Rosa", "phone": "+14155550150",
             "customFields": [{"id": "favDish", "field_value": "Ramen"}]}
        )  # fmt: skip
        rosa = await s.directory.show(created["id"])
        assert [(f.id, f.value, f.template_field) for f in rosa.custom_fields] == [
            ("favDish", "Ramen", "custom.fav_dish")
        ]
        assert rosa.merge_fields["custom.fav_dish"] == "Ramen"
        assert rosa.merge_fields["first_name"] == "Rosa"


async def test_show_refuses_a_phone_number_and_names_an_unknown_id() -> None:
    async with directory() as s:
        with pytest.raises(PhoneGivenAsContact, match="looks like a phone number") as info:
            await s.directory.show("+1 415 555 0102")
        assert isinstance(info.value, UsageError)
        with pytest.raises(RecipientNotFound, match="No contact 'nope'"):
            await s.directory.show("nope")
        assert s.wire.lines == ["GET /contacts/nope"]  # the phone never reached GHL


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"cursor": "nope"}, "not a contacts cursor"),
        ({"cursor": "1:20"}, "not a contacts cursor"),
        ({"cursor": "2:5", "limit": 10}, "pages 5 contacts at a time"),
        ({"limit": 0}, "between 1 and 100"),
        ({"limit": 101}, "between 1 and 100"),
        ({"email": "ben"}, "not an email address"),
        ({"query": "  "}, "search text to search for is empty"),
        ({"tag": ""}, "tag to search for is empty"),
        ({"query": "x" * 76}, "at most 75"),
        ({"phone": "12"}, "phone number to look up is not usable"),
        ({"phone": "+14155550102", "cursor": "2:20"}, "no next page"),
    ],
)
async def test_bad_search_input_is_a_usage_error_before_any_request(
    kwargs: dict[str, object], words: str
) -> None:
    async with directory() as s:
        with pytest.raises(UsageError, match=words):
            await s.directory.search(**kwargs)  # type: ignore[arg-type]
        assert s.wire.lines == []


async def test_a_phone_number_as_contact_id_says_use_to_and_sends_nothing() -> None:
    async with stack() as s:
        with pytest.raises(PhoneGivenAsContact, match=r"use --to .*to_number over MCP") as info:
            await s.service.send(SendRequest(contact_id="+14155550100", text="Hi"))
        # Also "no such contact": a bulk row with a number in its contact column is skipped.
        assert isinstance(info.value, RecipientNotFound)
        assert s.messages(s.ids("reachable")) == []
        with pytest.raises(PhoneGivenAsContact):
            await s.service.check(contact_id="(415) 555-0100")


async def test_the_service_hands_out_a_directory_over_its_client_and_ledger() -> None:
    async with stack() as s:
        page = await s.service.contacts.search("Hugo")
        assert [c.name for c in page.contacts] == ["Hugo Ito"]
