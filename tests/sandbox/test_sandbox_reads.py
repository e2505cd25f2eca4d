from typing import Any

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def send(http: httpx2.AsyncClient, sb: Sandbox, text: str, trait: str = "reachable") -> Any:
    response = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids[trait], "message": text},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_get_message_is_wrapped_in_message(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    sent = await send(http, sb, "hi")
    response = await http.get(f"/conversations/messages/{sent['messageId']}")
    assert response.status_code == 200
    assert list(response.json()) == ["message"]
    assert response.json()["message"]["id"] == sent["messageId"]


async def test_the_python_sdks_literal_id_placeholder_is_a_plain_404(
    http: httpx2.AsyncClient,
) -> None:
    response = await http.get("/conversations/messages/%7Bid%7D")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Message not found",
        "error": "Not Found",
    }


async def test_messages_of_a_conversation_are_nested_newest_first_and_paged(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    for n in range(5):
        await send(http, sb, f"m{n}")
        clock.advance(1)
    conversation_id = (await send(http, sb, "m5"))["conversationId"]
    first = (
        await http.get(f"/conversations/{conversation_id}/messages", params={"limit": 4})
    ).json()
    assert list(first) == ["messages"]
    page = first["messages"]
    assert [m["body"] for m in page["messages"]] == ["m5", "m4", "m3", "m2"]
    assert page["nextPage"] is True and page["lastMessageId"] == page["messages"][-1]["id"]
    second = (
        await http.get(
            f"/conversations/{conversation_id}/messages",
            params={"limit": 4, "lastMessageId": page["lastMessageId"]},
        )
    ).json()["messages"]
    assert [m["body"] for m in second["messages"]] == ["m1", "m0"]
    assert second["nextPage"] is False


async def test_a_type_filter_without_sms_gives_an_empty_page(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    conversation_id = (await send(http, sb, "x"))["conversationId"]
    calls = await http.get(
        f"/conversations/{conversation_id}/messages", params={"type": "TYPE_CALL"}
    )
    both = await http.get(
        f"/conversations/{conversation_id}/messages", params={"type": "TYPE_CALL,TYPE_SMS"}
    )
    bad = await http.get(f"/conversations/{conversation_id}/messages", params={"type": "sms"})
    assert calls.json()["messages"]["messages"] == []
    assert len(both.json()["messages"]["messages"]) == 1
    assert bad.status_code == 422


async def test_search_finds_the_contacts_conversation_with_a_string_type(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sent = await send(http, sb, "Hello Ava")
    response = await http.get(
        "/conversations/search",
        params={"locationId": sb.location_id, "contactId": sb.seed_ids["reachable"]},
    )
    body = response.json()
    assert body["total"] == 1
    item = body["conversations"][0]
    assert {
        k: item[k]
        for k in (
            "id",
            "type",
            "lastMessageBody",
            "lastMessageType",
            "fullName",
            "phone",
            "unreadCount",
        )
    } == {
        "id": sent["conversationId"],
        "type": "TYPE_PHONE",
        "lastMessageBody": "Hello Ava",
        "lastMessageType": "TYPE_SMS",
        "fullName": "Ava Reed",
        "phone": "+14155550100",
        "unreadCount": 0,
    }


async def test_search_needs_the_location_and_checks_it(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    missing = await http.get("/conversations/search")
    foreign = await http.get("/conversations/search", params={"locationId": "elsewhere"})
    assert missing.status_code == 422
    assert foreign.status_code == 403


async def test_search_filters_unread_and_pages_by_sort_value(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    await send(http, sb, "a", "reachable")
    clock.advance(10)
    await send(http, sb, "b", "email_dnd")
    clock.advance(10)
    await sb.reply(sb.seed_ids["reachable"], "hello back")
    unread = (
        await http.get(
            "/conversations/search", params={"locationId": sb.location_id, "status": "unread"}
        )
    ).json()
    assert [c["contactId"] for c in unread["conversations"]] == [sb.seed_ids["reachable"]]
    everything = (
        await http.get("/conversations/search", params={"locationId": sb.location_id, "limit": 1})
    ).json()
    assert everything["total"] == 2
    after = everything["conversations"][0]["sort"][0]
    rest = (
        await http.get(
            "/conversations/search",
            params={"locationId": sb.location_id, "limit": 1, "startAfterDate": after},
        )
    ).json()
    assert [c["lastMessageBody"] for c in rest["conversations"]] == ["b"]


async def test_get_conversation_has_a_numeric_type(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    sent = await send(http, sb, "x")
    response = await http.get(f"/conversations/{sent['conversationId']}")
    assert response.json() == {
        "id": sent["conversationId"],
        "contactId": sb.seed_ids["reachable"],
        "locationId": sb.location_id,
        "deleted": False,
        "inbox": True,
        "type": 1,
        "unreadCount": 0,
        "starred": False,
    }
    assert (await http.get("/conversations/nope")).status_code == 400


async def test_updating_a_conversation_requires_the_location_and_marks_it_read(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    reply = await sb.reply(sb.seed_ids["reachable"], "hi")
    url = f"/conversations/{reply.conversation_id}"
    without = await http.put(url, json={"unreadCount": 0})
    updated = await http.put(url, json={"locationId": sb.location_id, "unreadCount": 0})
    assert without.status_code == 422
    assert updated.json()["success"] is True
    assert updated.json()["conversation"]["unreadCount"] == 0
    assert sb.webhook_events[-1]["type"] == "ConversationUnreadUpdate"
    assert sb.webhook_events[-1]["unreadCount"] == 0


async def test_create_conversation_answers_201_once_per_contact(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    body = {"locationId": sb.location_id, "contactId": sb.seed_ids["filtered"]}
    created = await http.post("/conversations/", json=body)
    again = await http.post("/conversations/", json=body)
    assert created.status_code == 201
    assert created.json()["success"] is True
    assert again.status_code == 400
    assert again.json()["conversationId"] == created.json()["conversation"]["id"]


async def test_a_deleted_conversation_is_gone_and_the_next_send_starts_a_new_one(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    first = await send(http, sb, "x")
    assert (await http.delete(f"/conversations/{first['conversationId']}")).json() == {
        "success": True
    }
    second = await send(http, sb, "y")
    assert second["conversationId"] != first["conversationId"]


async def test_get_contact_shows_dnd_but_search_does_not(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    one = (await http.get(f"/contacts/{sb.seed_ids['sms_dnd']}")).json()["contact"]
    found = (
        await http.post("/contacts/search", json={"locationId": sb.location_id, "query": "Ben"})
    ).json()
    assert one["dndSettings"]["SMS"]["status"] == "active"
    assert found["total"] == 1 and "traceId" in found
    assert found["contacts"][0]["id"] == sb.seed_ids["sms_dnd"]
    assert "dndSettings" not in found["contacts"][0]


async def test_an_unknown_contact_is_a_400(http: httpx2.AsyncClient) -> None:
    response = await http.get("/contacts/nope")
    assert response.status_code == 400
    assert response.json()["message"] == "Contact with id nope not found"


async def test_the_search_phone_filter_finds_nothing_as_live_ghl_does(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.post(
        "/contacts/search",
        json={
            "locationId": sb.location_id,
            "filters": [{"field": "phone", "operator": "eq", "value": "+14155550100"}],
        },
    )
    assert response.json()["contacts"] == []


async def test_duplicate_lookup_uses_number_and_email(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    url = "/contacts/search/duplicate"
    by_number = await http.get(url, params={"locationId": sb.location_id, "number": "+14155550100"})
    by_email = await http.get(
        url, params={"locationId": sb.location_id, "email": "Ava.Reed@example.com"}
    )
    none = await http.get(url, params={"locationId": sb.location_id, "number": "+14155550177"})
    neither = await http.get(url, params={"locationId": sb.location_id})
    assert by_number.json()["contact"]["id"] == sb.seed_ids["reachable"]
    assert by_email.json()["contact"]["id"] == sb.seed_ids["reachable"]
    assert none.json() == {"contact": None}
    assert neither.status_code == 400
    assert neither.json()["message"] == "Pass at least one of number, email query parameter"


async def test_creating_a_duplicate_contact_is_a_400_with_meta(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    created = await http.post(
        "/contacts/",
        json={"locationId": sb.location_id, "firstName": "New", "phone": "+1 (415) 555-0140"},
    )
    duplicate = await http.post(
        "/contacts/", json={"locationId": sb.location_id, "phone": "+14155550140"}
    )
    assert created.status_code == 201
    assert created.json()["contact"]["phone"] == "+14155550140"
    assert duplicate.status_code == 400
    assert duplicate.json()["meta"] == {
        "contactId": created.json()["contact"]["id"],
        "matchingField": "phone",
        "contactName": "New",
    }


async def test_upsert_updates_the_match_and_creates_otherwise(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    updated = await http.post(
        "/contacts/upsert",
        json={"locationId": sb.location_id, "email": "ava.reed@example.com", "city": "Oakland"},
    )
    created = await http.post(
        "/contacts/upsert", json={"locationId": sb.location_id, "email": "zoe@example.com"}
    )
    assert updated.json()["new"] is False
    assert updated.json()["contact"]["city"] == "Oakland"
    assert created.json()["new"] is True


async def test_update_contact_answers_succeded_and_rejects_unknown_fields(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    url = f"/contacts/{sb.seed_ids['reachable']}"
    ok = await http.put(url, json={"dndSettings": {"SMS": {"status": "active"}}})
    bad = await http.put(url, json={"additionalEmails": ["x@example.com"]})
    assert ok.json()["succeded"] is True
    assert ok.json()["contact"]["dndSettings"]["SMS"] == {"status": "active"}
    assert sb.webhook_events[-1]["type"] == "ContactDndUpdate"
    assert bad.status_code == 422
    assert bad.json()["message"] == ["property additionalEmails should not exist"]
    deleted = await http.delete(url)
    assert deleted.json() == {"succeded": True}
    assert (await http.get(url)).status_code == 400


async def test_numbers_list_the_default_and_the_unregistered_sender(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.get(f"/phone-system/numbers/location/{sb.location_id}")
    body = response.json()
    assert (body["isUnderGhl"], body["page"], body["accountStatus"]) == (True, 0, "active")
    numbers = {n["phoneNumber"]: n for n in body["numbers"]}
    default = numbers[sb.seed_ids["default_number"]]
    assert default["isDefaultNumber"] is True
    assert default["capabilities"] == {"voice": True, "sms": True, "mms": True, "fax": False}
    assert numbers[sb.seed_ids["unregistered_number"]]["isDefaultNumber"] is False
    filtered = await http.get(
        f"/phone-system/numbers/location/{sb.location_id}", params={"searchFilter": "0191"}
    )
    assert len(filtered.json()["numbers"]) == 1
    pools = await http.get("/phone-system/number-pools", params={"locationId": sb.location_id})
    assert pools.json() == {"success": True, "data": [], "total": 0}


async def test_the_location_has_a_timezone_and_an_sms_channel(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    location = (await http.get(f"/locations/{sb.location_id}")).json()["location"]
    channel = await http.get(f"/locations/{sb.location_id}/conversationChannels/SMS")
    lower = await http.get(f"/locations/{sb.location_id}/conversationChannels/sms")
    assert location["timezone"] == "America/Los_Angeles"
    assert channel.json()["conversationChannel"]["SMS"][0]["conversationProvider"]["default"]
    assert lower.status_code == 422


async def test_upload_takes_multipart_files_and_answers_json_bodies_with_415(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    files = {"fileAttachment": ("menu.jpg", b"\xff\xd8jpeg", "image/jpeg")}
    data = {
        "locationId": sb.location_id,
        "contactId": sb.seed_ids["reachable"],
        "conversationId": "c",
        "attachmentUrls": "",
    }
    uploaded = await http.post("/conversations/messages/upload", files=files, data=data)
    as_json = await http.post("/conversations/messages/upload", json={"fileAttachment": {}})
    url = uploaded.json()["uploadedFiles"]["menu.jpg"]
    assert (await http.get(url)).content == b"\xff\xd8jpeg"
    assert as_json.status_code == 415
    assert as_json.json()["status"] == 415
