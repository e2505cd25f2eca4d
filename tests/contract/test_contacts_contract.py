"""Finding contacts through the real client and ops layer against the sandbox, in-process
and over loopback HTTP: the search body, its answer, the duplicate lookup and paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from ghl_sms.ops.contacts import ContactDirectory
from ghl_sms.ops.errors import PhoneGivenAsContact, RecipientNotFound
from ghl_sms.ops.ledger import Ledger
from support.contract import AVA, Target

pytestmark = pytest.mark.anyio

BEN = "sbxCtSmsDnd000000001"
HUGO = "sbxCtFlorida00000001"
SEEDED = 13


@asynccontextmanager
async def directory(target: Target) -> AsyncIterator[ContactDirectory]:
    ledger = Ledger.open(":memory:", target.clock)
    try:
        async with target.client() as ghl:
            yield ContactDirectory(ghl, ledger)
    finally:
        ledger.close()


async def test_the_client_searches_by_text_tag_and_email(target: Target) -> None:
    async with target.client() as ghl:
        by_text = await ghl.search_contacts(query="Carter", page_limit=20)
        assert [c.id for c in by_text.contacts] == [BEN] and by_text.total == 1
        assert by_text.contacts[0].dnd_settings is None  # search omits DND, as live GHL
        by_email = await ghl.search_contacts(email="AVA.REED@example.com")
        assert [c.id for c in by_email.contacts] == [AVA]
        both = await ghl.search_contacts(tag="sandbox", query="Ito")
        assert [c.id for c in both.contacts] == [HUGO]


async def test_the_client_pages_by_number_and_by_search_after(target: Target) -> None:
    async with target.client() as ghl:
        first = await ghl.search_contacts(tag="sandbox", page=1, page_limit=5)
        second = await ghl.search_contacts(tag="sandbox", page=2, page_limit=5)
        after = first.contacts[-1].search_after
        assert after is not None
        cursor = await ghl.search_contacts(tag="sandbox", page_limit=5, search_after=after)
        assert [c.id for c in cursor.contacts] == [c.id for c in second.contacts]
        assert first.total == SEEDED
        every = [c.id async for c in ghl.iter_contacts(tag="sandbox", page_size=4)]
        assert len(every) == SEEDED == len(set(every))


async def test_a_name_finds_ben_with_his_sms_dnd(target: Target) -> None:
    async with directory(target) as contacts:
        page = await contacts.search("ben")
        assert [(c.id, c.phone, c.sms_dnd) for c in page.contacts] == [(BEN, "+14155550102", True)]
        assert page.dnd_checked and page.matched_by == "search"


async def test_an_exact_phone_is_found_by_the_duplicate_lookup(target: Target) -> None:
    async with directory(target) as contacts:
        page = await contacts.search(phone="(415) 555-0102")
        assert [c.id for c in page.contacts] == [BEN] and page.matched_by == "phone"
        assert (await contacts.search(phone="+14155550177")).contacts == []


async def test_the_directory_pages_with_its_cursor(target: Target) -> None:
    async with directory(target) as contacts:
        ids: list[str] = []
        page = await contacts.search(tag="sandbox", limit=6)
        while True:
            ids += [c.id for c in page.contacts]
            if page.next_cursor is None:
                break
            page = await contacts.search(tag="sandbox", cursor=page.next_cursor)
        assert len(ids) == SEEDED == len(set(ids))


async def test_show_reads_dnd_time_zone_and_state(target: Target) -> None:
    async with directory(target) as contacts:
        ben = await contacts.show(BEN)
        assert ben.sms_dnd and ben.dnd_channels["SMS"].status == "active"
        hugo = await contacts.show(HUGO)
        assert (hugo.timezone, hugo.state, hugo.sms_dnd) == ("America/New_York", "FL", False)
        with pytest.raises(RecipientNotFound):
            await contacts.show("sbxCtNobody000000001")
        with pytest.raises(PhoneGivenAsContact):
            await contacts.show("+14155550102")
