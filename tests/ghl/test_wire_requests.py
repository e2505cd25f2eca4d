"""Every operation's exact wire request, checked against the official spec's names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx2
import pytest

from ghl_sms.ghl import GhlClient
from support.ghl_mock import Recorder, make_client, spec_properties, spec_query_params

SENT = {"conversationId": "conv1", "messageId": "msg1", "msg": "Message queued successfully."}


def ok(body: object, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json=body)


def assert_common_headers(request: httpx2.Request, version: str) -> None:
    assert request.headers["authorization"] == "Bearer pit-test-token"
    assert request.headers["version"] == version
    assert request.headers["content-type"].startswith("application/json")


@pytest.mark.anyio
async def test_send_sms_posts_type_contact_and_message_only(recorder: Recorder) -> None:
    recorder.answers.append(ok(SENT))
    result = await make_client(recorder).send_message(contact_id="ct1", message="Hello")
    request = recorder.last
    assert (request.method, request.url.path) == ("POST", "/conversations/messages")
    assert_common_headers(request, "2021-04-15")
    assert recorder.body() == {"type": "SMS", "contactId": "ct1", "message": "Hello"}
    assert (result.conversation_id, result.message_id) == ("conv1", "msg1")


@pytest.mark.anyio
async def test_mms_and_schedule_use_spec_field_names_and_epoch_seconds(
    recorder: Recorder,
) -> None:
    recorder.answers.append(ok({**SENT, "status": "pending"}))
    when = datetime(2030, 1, 1, 9, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=-5)))
    await make_client(recorder).send_message(
        contact_id="ct1",
        message="Look",
        attachments=["https://cdn.example.com/a.jpg"],
        from_number="+15550001111",
        to_number="+15550002222",
        scheduled_at=when,
    )
    body = recorder.body()
    assert body == {
        "type": "SMS",
        "contactId": "ct1",
        "message": "Look",
        "attachments": ["https://cdn.example.com/a.jpg"],
        "fromNumber": "+15550001111",
        "toNumber": "+15550002222",
        "scheduledTimestamp": 1893508215,  # 14:30:15Z, seconds, fraction dropped
    }
    assert set(body) <= spec_properties("conversations.json", "SendMessageBodyDto")


@pytest.mark.anyio
async def test_a_naive_schedule_time_is_refused_before_any_request(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="aware"):
        await make_client(recorder).send_message(
            contact_id="ct1", message="x", scheduled_at=datetime(2030, 1, 1)
        )
    assert recorder.requests == []


@pytest.mark.anyio
async def test_cancel_scheduled_deletes_the_schedule(recorder: Recorder) -> None:
    recorder.answers.append(ok({"status": 200, "message": "Scheduled message cancelled"}))
    result = await make_client(recorder).cancel_scheduled_message("msg 1/x")
    assert recorder.last.method == "DELETE"
    assert recorder.last.url.raw_path == b"/conversations/messages/msg%201%2Fx/schedule"
    assert_common_headers(recorder.last, "2021-04-15")
    assert result.status == 200


@pytest.mark.anyio
async def test_get_message_and_list_messages_send_spec_query(recorder: Recorder) -> None:
    recorder.answers += [
        ok({"message": {"id": "m1", "conversationId": "c1"}}),
        ok({"messages": {"lastMessageId": "m9", "nextPage": False, "messages": []}}),
    ]
    client = make_client(recorder)
    await client.get_message("m1")
    assert recorder.last.url.path == "/conversations/messages/m1"
    await client.list_messages("c1", last_message_id="m5", limit=10, types=["TYPE_SMS"])
    request = recorder.last
    assert request.url.path == "/conversations/c1/messages"
    assert dict(request.url.params) == {"limit": "10", "lastMessageId": "m5", "type": "TYPE_SMS"}
    assert set(request.url.params) <= spec_query_params(
        "conversations.json", "/conversations/{conversationId}/messages", "get"
    )


@pytest.mark.anyio
async def test_search_conversations_sends_location_filters_and_cursor(recorder: Recorder) -> None:
    recorder.answers.append(ok({"conversations": [], "total": 0}))
    await make_client(recorder).search_conversations(
        contact_id="ct1", status="unread", limit=5, start_after_date=1700000000123
    )
    request = recorder.last
    assert request.url.path == "/conversations/search"
    assert dict(request.url.params) == {
        "locationId": "loc123",
        "contactId": "ct1",
        "status": "unread",
        "sort": "desc",
        "sortBy": "last_message_date",
        "limit": "5",
        "startAfterDate": "1700000000123",
    }
    assert set(request.url.params) <= spec_query_params(
        "conversations.json", "/conversations/search", "get"
    )


@pytest.mark.anyio
async def test_create_and_get_conversation(recorder: Recorder) -> None:
    created = {"id": "c1", "contactId": "ct1", "locationId": "loc123", "dateAdded": "2026-01-01"}
    recorder.answers += [
        ok({"success": True, "conversation": created}, status=201),
        ok({"id": "c1", "contactId": "ct1", "locationId": "loc123", "deleted": False,
            "inbox": True, "type": 1, "unreadCount": 2}),
    ]  # fmt: skip
    client = make_client(recorder)
    conversation = await client.create_conversation("ct1")
    assert recorder.body() == {"locationId": "loc123", "contactId": "ct1"}
    assert set(recorder.body()) <= spec_properties("conversations.json", "CreateConversationDto")
    assert conversation.id == "c1"
    detail = await client.get_conversation("c1")
    assert (detail.type, detail.unread_count) == (1, 2)


@pytest.mark.anyio
async def test_contact_lookups_use_contacts_version_and_encode_plus(recorder: Recorder) -> None:
    recorder.answers += [ok({"contact": {"id": "ct1"}}), ok({"contact": {"id": "ct1"}})]
    client = make_client(recorder)
    await client.get_contact("ct1")
    assert recorder.last.url.path == "/contacts/ct1"
    assert_common_headers(recorder.last, "2021-07-28")
    await client.find_contact_by_phone("+15550001111")
    request = recorder.last
    assert request.url.path == "/contacts/search/duplicate"
    assert b"number=%2B15550001111" in request.url.query
    assert dict(request.url.params) == {"locationId": "loc123", "number": "+15550001111"}


@pytest.mark.anyio
async def test_upsert_sends_location_and_only_given_fields(recorder: Recorder) -> None:
    recorder.answers.append(ok({"new": True, "contact": {"id": "ct9"}, "traceId": "t1"}))
    result = await make_client(recorder).upsert_contact(phone="+15550001111", first_name="Ann")
    assert recorder.last.url.path == "/contacts/upsert"
    body = recorder.body()
    assert body == {"locationId": "loc123", "phone": "+15550001111", "firstName": "Ann"}
    assert set(body) <= spec_properties("contacts.json", "UpsertContactDto")
    assert result.new and result.contact.id == "ct9"


@pytest.mark.anyio
async def test_update_contact_dnd_puts_dnd_settings(recorder: Recorder) -> None:
    recorder.answers.append(ok({"succeded": True, "contact": {"id": "ct1"}}))
    await make_client(recorder).update_contact_dnd("ct1", sms_status="permanent")
    assert (recorder.last.method, recorder.last.url.path) == ("PUT", "/contacts/ct1")
    assert recorder.body() == {"dndSettings": {"SMS": {"status": "permanent"}}}


@pytest.mark.anyio
async def test_phone_numbers_and_location(recorder: Recorder) -> None:
    recorder.answers += [
        ok({"numbers": [], "pageSize": 100, "page": 0}),
        ok({"location": {"id": "loc123", "timezone": "America/Chicago"}}),
    ]
    client = make_client(recorder)
    await client.list_phone_numbers()
    request = recorder.last
    assert request.url.path == "/phone-system/numbers/location/loc123"
    assert_common_headers(request, "2021-07-28")
    assert dict(request.url.params) == {"pageSize": "100", "page": "0"}
    location = await client.get_location()
    assert recorder.last.url.path == "/locations/loc123"
    assert location.timezone == "America/Chicago"


@pytest.mark.anyio
async def test_update_status_and_inbound_bodies_match_the_spec(recorder: Recorder) -> None:
    recorder.answers += [ok(SENT), ok({"success": True, **SENT, "message": "ok"})]
    client = make_client(recorder)
    await client.update_message_status("m1", "failed", error_code="30003", error_message="down")
    assert (recorder.last.method, recorder.last.url.path) == (
        "PUT",
        "/conversations/messages/m1/status",
    )
    assert recorder.body() == {
        "status": "failed",
        "error": {"code": "30003", "type": "saas", "message": "down"},
    }
    await client.add_inbound_message(
        conversation_id="c1", contact_id="ct1", message="hi", conversation_provider_id="p1"
    )
    body = recorder.body()
    assert body == {
        "type": "SMS",
        "conversationId": "c1",
        "contactId": "ct1",
        "message": "hi",
        "conversationProviderId": "p1",
    }
    assert set(body) <= spec_properties("conversations.json", "ProcessMessageBodyDto")


@pytest.mark.anyio
async def test_upload_is_multipart_with_file_attachment_parts(recorder: Recorder) -> None:
    recorder.answers.append(ok({"uploadedFiles": {"a.png": "https://cdn.test/a.png"}}))
    result = await make_client(recorder).upload_attachments(
        conversation_id="c1", contact_id="ct1", files=[("a.png", b"\x89PNG", "image/png")]
    )
    request = recorder.last
    assert request.url.path == "/conversations/messages/upload"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["version"] == "2021-04-15"
    content = request.content
    assert b'name="fileAttachment"; filename="a.png"' in content
    for field in (b'name="conversationId"', b'name="contactId"', b'name="locationId"'):
        assert field in content
    assert result.uploaded_files == {"a.png": "https://cdn.test/a.png"}


def test_version_values_are_settings() -> None:
    client = GhlClient(token="t", location_id="l", versions={"conversations": "2021-07-28"})
    assert client._versions["conversations"] == "2021-07-28"
    assert client._versions["contacts"] == "2021-07-28"


@pytest.mark.anyio
async def test_the_clock_is_not_consulted_for_epoch_conversion(recorder: Recorder) -> None:
    recorder.answers.append(ok(SENT))
    when = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    await make_client(recorder).send_message(contact_id="c", message="m", scheduled_at=when)
    assert recorder.body()["scheduledTimestamp"] == int(when.timestamp())


@pytest.mark.anyio
async def test_contact_search_by_tag_posts_filters_and_pages_on(recorder: Recorder) -> None:
    recorder.answers += [
        ok({"contacts": [{"id": "c1"}, {"id": "c2"}], "total": 3}),
        ok({"contacts": [{"id": "c3"}], "count": 3}),
    ]
    found = [c.id async for c in make_client(recorder).iter_contacts(tag="vip", page_size=2)]
    assert found == ["c1", "c2", "c3"]
    assert recorder.body(0) == {
        "locationId": "loc123",
        "page": 1,
        "pageLimit": 2,
        "filters": [{"field": "tags", "operator": "contains", "value": "vip"}],
    }
    assert recorder.body(1)["page"] == 2
    assert recorder.requests[0].headers["version"] == "2021-07-28"


@pytest.mark.anyio
async def test_contact_search_sends_ghls_body_for_text_email_and_search_after(
    recorder: Recorder,
) -> None:
    recorder.answers += [ok({"contacts": [], "total": 0}), ok({"contacts": [], "total": 0})]
    client = make_client(recorder)
    await client.search_contacts(query="ben", email="ben@example.com", tag="vip", page=3,
                                 page_limit=20)  # fmt: skip
    await client.search_contacts(page_limit=50, search_after=[1767225600000, "c9"])
    assert recorder.body(0) == {
        "locationId": "loc123",
        "page": 3,
        "pageLimit": 20,
        "query": "ben",
        "filters": [
            {"field": "tags", "operator": "contains", "value": "vip"},
            {"field": "email", "operator": "eq", "value": "ben@example.com"},
        ],
    }
    # Past GHL's 10,000-result page limit: the cursor replaces the page number.
    assert recorder.body(1) == {
        "locationId": "loc123",
        "pageLimit": 50,
        "searchAfter": [1767225600000, "c9"],
    }


@pytest.mark.anyio
async def test_a_raw_request_gets_the_modules_version_and_the_same_error_mapping(
    recorder: Recorder,
) -> None:
    from ghl_sms.ghl import InvalidRequestError

    recorder.answers.append(ok({"statusCode": 422, "message": ["type must be SMS"]}, 422))
    with pytest.raises(InvalidRequestError, match="type must be SMS"):
        await make_client(recorder).raw_request(
            "PUT", "/contacts/ct1", module="contacts", json={"probe": True}
        )
    assert (recorder.last.method, recorder.last.url.path) == ("PUT", "/contacts/ct1")
    assert_common_headers(recorder.last, "2021-07-28")
    assert recorder.body() == {"probe": True}
