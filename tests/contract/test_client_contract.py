"""Every client operation against the sandbox, in-process and over loopback HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ghl_sms.ghl import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimits,
    RetryPolicy,
    SlidingWindowPacer,
)
from support.contract import AVA, Target

pytestmark = pytest.mark.anyio

BEN = "sbxCtSmsDnd000000001"  # SMS DND
DAN = "sbxCtNoPhone00000001"  # no phone
CHLOE = "sbxCtEmailDnd0000001"


async def test_send_get_and_list_a_message(target: Target) -> None:
    async with target.client() as ghl:
        sent = await ghl.send_message(contact_id=AVA, message="Contract hello")
        message = await ghl.get_message(sent.message_id)
        assert (message.id, message.contact_id, message.conversation_id) == (
            sent.message_id,
            AVA,
            sent.conversation_id,
        )
        assert (message.direction, message.message_type, message.type) == (
            "outbound",
            "TYPE_SMS",
            2,
        )
        assert message.body == "Contract hello" and message.status in ("pending", "sent")
        assert message.date_added is not None and message.location_id == ghl.location_id
        page = await ghl.list_messages(sent.conversation_id)
        assert [m.id for m in page.messages] == [sent.message_id]


async def test_an_mms_keeps_its_attachments(target: Target) -> None:
    url = "https://cdn.example.com/menu.jpg"
    async with target.client() as ghl:
        sent = await ghl.send_message(contact_id=AVA, message="Menu", attachments=[url])
        assert (await ghl.get_message(sent.message_id)).attachments == [url]


async def test_a_second_message_threads_and_pages_with_the_cursor(target: Target) -> None:
    async with target.client() as ghl:
        sent = [await ghl.send_message(contact_id=AVA, message=f"m{i}") for i in range(5)]
        assert len({s.conversation_id for s in sent}) == 1
        ids = [m.id async for m in ghl.iter_messages(sent[0].conversation_id, page_size=2)]
        assert ids == [s.message_id for s in reversed(sent)]
        sms_only = await ghl.list_messages(sent[0].conversation_id, types=["TYPE_SMS"])
        assert len(sms_only.messages) == 5


async def test_schedule_cancel_and_the_failed_cancel_in_a_200(target: Target) -> None:
    async with target.client() as ghl:
        at = datetime.fromtimestamp(target.clock.now(), UTC) + timedelta(hours=1)
        sent = await ghl.send_message(contact_id=AVA, message="Later", scheduled_at=at)
        assert (await ghl.get_message(sent.message_id)).status == "scheduled"
        cancelled = await ghl.cancel_scheduled_message(sent.message_id)
        assert cancelled.status == 200
        with pytest.raises(NotFoundError):
            await ghl.cancel_scheduled_message(sent.message_id)


async def test_a_scheduled_message_goes_out_when_the_clock_reaches_it(target: Target) -> None:
    async with target.client() as ghl:
        at = datetime.fromtimestamp(target.clock.now(), UTC) + timedelta(minutes=10)
        sent = await ghl.send_message(contact_id=AVA, message="Soon", scheduled_at=at)
        await target.advance(11 * 60)
        assert (await ghl.get_message(sent.message_id)).status != "scheduled"
        with pytest.raises(NotFoundError):
            await ghl.cancel_scheduled_message(sent.message_id)


async def test_conversations_search_get_create_and_unread(target: Target) -> None:
    async with target.client() as ghl:
        sent = await ghl.send_message(contact_id=AVA, message="Hi")
        await target.reply(AVA, "Hello back")
        found = await ghl.search_conversations(contact_id=AVA)
        assert [c.id for c in found.conversations] == [sent.conversation_id]
        summary = found.conversations[0]
        assert (summary.contact_id, summary.type, summary.unread_count) == (AVA, "TYPE_PHONE", 1)
        assert summary.last_message_body == "Hello back"
        unread = await ghl.search_conversations(status="unread")
        assert sent.conversation_id in [c.id for c in unread.conversations]
        detail = await ghl.get_conversation(sent.conversation_id)
        assert (detail.contact_id, detail.type, detail.unread_count) == (AVA, 1, 1)
        created = await ghl.create_conversation(CHLOE)
        assert created.contact_id == CHLOE
        again = await ghl.search_conversations(contact_id=CHLOE)
        assert [c.id for c in again.conversations] == [created.id]


async def test_conversations_page_with_start_after_date(target: Target) -> None:
    contacts = ["sbxCtReachable000001", "sbxCtEmailDnd0000001", "sbxCtFlorida00000001",
                "sbxCtTexas0000000001", "sbxCtInternational01"]  # fmt: skip
    async with target.client() as ghl:
        for contact in contacts:
            await ghl.send_message(contact_id=contact, message="hello")
            await target.advance(1)
        seen = [c.contact_id async for c in ghl.iter_conversations(page_size=2)]
        assert seen == list(reversed(contacts))


async def test_contacts_get_find_upsert_update_and_search(target: Target) -> None:
    async with target.client() as ghl:
        ben = await ghl.get_contact(BEN)
        assert ben.sms_dnd and ben.phone == "+14155550102"
        ava = await ghl.get_contact(AVA)
        assert not ava.sms_dnd and ava.first_name == "Ava"
        found = await ghl.find_contact_by_phone("+14155550100")
        assert found is not None and found.id == AVA
        assert await ghl.find_contact_by_phone("+14155550142") is None
        created = await ghl.upsert_contact(phone="+14155550142", first_name="Nora")
        assert created.new and created.contact.phone == "+14155550142"
        updated = await ghl.upsert_contact(phone="+14155550142", last_name="Ortiz")
        assert not updated.new and updated.contact.id == created.contact.id
        blocked = await ghl.update_contact_dnd(AVA, sms_status="permanent")
        assert blocked.sms_dnd and (await ghl.get_contact(AVA)).sms_dnd
        tagged = [c.id async for c in ghl.iter_contacts(tag="sms_dnd")]
        assert tagged == [BEN]


async def test_numbers_and_location(target: Target) -> None:
    async with target.client() as ghl:
        numbers = await ghl.list_phone_numbers()
        assert numbers.default is not None and numbers.default.phone_number == "+14155550190"
        assert all(n.capabilities.sms for n in numbers.numbers)
        location = await ghl.get_location()
        assert (location.id, location.timezone) == (ghl.location_id, "America/Los_Angeles")


async def test_upload_gives_urls_an_mms_can_use(target: Target) -> None:
    async with target.client() as ghl:
        conversation = await ghl.create_conversation(AVA)
        uploaded = await ghl.upload_attachments(
            conversation_id=conversation.id,
            contact_id=AVA,
            files=[("menu.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")],
        )
        (url,) = uploaded.uploaded_files.values()
        assert url.startswith(("http://", "https://"))
        sent = await ghl.send_message(contact_id=AVA, message="Menu", attachments=[url])
        assert (await ghl.get_message(sent.message_id)).attachments == [url]


async def test_ghl_errors_map_to_the_client_error_tree(target: Target) -> None:
    async with target.client() as ghl:
        with pytest.raises(InvalidRequestError) as dnd:
            await ghl.send_message(contact_id=BEN, message="Promo")
        assert dnd.value.messages == ["Cannot send message as DND is active for SMS."]
        with pytest.raises(InvalidRequestError) as no_phone:
            await ghl.send_message(contact_id=DAN, message="Hi")
        assert no_phone.value.messages == ["Missing phone number"]
        with pytest.raises((NotFoundError, InvalidRequestError)):
            await ghl.get_contact("nope")
    async with target.client(token="pit-not-a-real-token") as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.get_contact(AVA)


async def test_another_locations_token_and_a_missing_scope_are_refused(target: Target) -> None:
    other = await target.control("POST", "/_sandbox/locations", {"name": "Other"})
    other_id = other.get("id") or other.get("location", {}).get("id")
    token = await target.control("POST", "/_sandbox/tokens", {"locationId": other_id})
    other_token = token.get("token")
    async with target.client(token=other_token) as foreign:
        with pytest.raises(PermissionDeniedError) as info:
            await foreign.get_location()
        assert info.value.messages == ["The token does not have access to this location."]
    narrow = await target.control(
        "POST", "/_sandbox/tokens", {"locationId": "sandboxDemoLocation1",
                                     "scopes": ["contacts.readonly"]},
    )  # fmt: skip
    async with target.client(token=narrow["token"]) as limited:
        await limited.get_contact(AVA)
        with pytest.raises(AuthenticationError) as scope:
            await limited.send_message(contact_id=AVA, message="hi")
        assert scope.value.messages == ["The token is not authorized for this scope."]


async def test_the_client_paces_itself_under_the_limits_it_is_told(target: Target) -> None:
    await target.control("POST", "/_sandbox/rate-limits", {"burst": 4, "window": 1.0})
    async with target.client() as ghl:
        ghl.pacer = SlidingWindowPacer(target.clock, RateLimits(burst=100, window=1.0))
        ghl._retry = RetryPolicy(max_retries=0)  # a 429 would raise instead of being retried
        for _ in range(9):  # the headers say 4 per second; no request may be refused
            await ghl.get_location()


async def test_an_inbound_message_from_a_provider_lands_in_the_conversation(
    target: Target,
) -> None:
    async with target.client() as ghl:
        sent = await ghl.send_message(contact_id=AVA, message="Question?")
        added = await ghl.add_inbound_message(
            conversation_id=sent.conversation_id, contact_id=AVA, message="Answer!"
        )
        assert added.success and added.conversation_id == sent.conversation_id
        message = await ghl.get_message(added.message_id)
        assert (message.direction, message.body) == ("inbound", "Answer!")
        assert (await ghl.get_conversation(sent.conversation_id)).unread_count == 1


async def test_a_status_update_for_a_message_no_provider_owns_is_refused(
    target: Target,
) -> None:
    async with target.client() as ghl:
        sent = await ghl.send_message(contact_id=AVA, message="Hi")
        with pytest.raises(PermissionDeniedError) as info:
            await ghl.update_message_status(sent.message_id, "delivered")
        assert info.value.messages == ["No conversation provider found for this message"]
