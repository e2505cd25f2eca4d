"""Parsing GHL's answers, quirks included."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from ghl_sms.ghl import Contact, NotFoundError, ResponseValidationError
from support.ghl_mock import Recorder, make_client


def ok(body: object) -> httpx2.Response:
    return httpx2.Response(200, json=body)


@pytest.mark.anyio
async def test_get_message_unwraps_the_live_message_envelope(recorder: Recorder) -> None:
    recorder.answers.append(
        ok({"message": {"id": "m1", "type": 2, "messageType": "TYPE_SMS", "status": "failed",
                        "dateAdded": "2026-01-02T03:04:05.000Z", "direction": "outbound",
                        "error": {"code": 30034, "type": "carrier", "message": "Unregistered"}}})
    )  # fmt: skip
    message = await make_client(recorder).get_message("m1")
    assert message.status == "failed"
    assert message.error is not None and message.error.code == "30034"
    assert message.date_added == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.anyio
async def test_get_message_accepts_the_flat_spec_shape_and_a_string_error(
    recorder: Recorder,
) -> None:
    recorder.answers.append(ok({"id": "m1", "status": "undelivered", "error": "30003 unreachable"}))
    message = await make_client(recorder).get_message("m1")
    assert message.error is not None
    assert (message.error.code, message.error.message) == ("30003", "30003 unreachable")


@pytest.mark.anyio
async def test_list_messages_reads_the_nested_page_and_the_flat_one(recorder: Recorder) -> None:
    nested = {"messages": {"lastMessageId": "m2", "nextPage": True,
                           "messages": [{"id": "m1"}, {"id": "m2"}]}}  # fmt: skip
    flat = {"lastMessageId": "m3", "nextPage": False, "messages": [{"id": "m3"}]}
    recorder.answers += [ok(nested), ok(flat)]
    client = make_client(recorder)
    page = await client.list_messages("c1")
    assert [m.id for m in page.messages] == ["m1", "m2"]
    assert (page.last_message_id, page.next_page) == ("m2", True)
    page = await client.list_messages("c1")
    assert [m.id for m in page.messages] == ["m3"] and not page.next_page


@pytest.mark.anyio
async def test_iter_messages_follows_the_cursor_to_the_last_page(recorder: Recorder) -> None:
    def page(ids: list[str], more: bool) -> httpx2.Response:
        return ok({"messages": {"lastMessageId": ids[-1], "nextPage": more,
                                "messages": [{"id": i} for i in ids]}})  # fmt: skip

    recorder.answers += [page(["m5", "m4"], True), page(["m3", "m2"], True), page(["m1"], False)]
    ids = [m.id async for m in make_client(recorder).iter_messages("c1", page_size=2)]
    assert ids == ["m5", "m4", "m3", "m2", "m1"]
    cursors = [r.url.params.get("lastMessageId") for r in recorder.requests]
    assert cursors == [None, "m4", "m2"]


@pytest.mark.anyio
async def test_iter_conversations_pages_with_the_last_sort_value(recorder: Recorder) -> None:
    def conv(i: int, ms: int) -> dict[str, object]:
        return {"id": f"c{i}", "lastMessageDate": ms, "sort": [ms], "unreadCount": None}

    recorder.answers += [
        ok({"conversations": [conv(1, 3000), conv(2, 2000)], "total": 3}),
        ok({"conversations": [conv(3, 1000)], "total": 3}),
    ]
    found = [c async for c in make_client(recorder).iter_conversations(page_size=2)]
    assert [c.id for c in found] == ["c1", "c2", "c3"]
    assert found[0].unread_count == 0
    assert recorder.requests[1].url.params["startAfterDate"] == "2000"


@pytest.mark.anyio
async def test_a_failed_cancel_inside_http_200_is_raised_as_not_found(recorder: Recorder) -> None:
    recorder.answers.append(ok({"status": 404, "message": "Failed cancel the scheduled message"}))
    with pytest.raises(NotFoundError) as info:
        await make_client(recorder).cancel_scheduled_message("m1")
    assert info.value.status_code == 404
    assert info.value.messages == ["Failed cancel the scheduled message"]


@pytest.mark.anyio
async def test_duplicate_search_without_a_match_is_none(recorder: Recorder) -> None:
    recorder.answers += [ok({"contact": None}), ok({}), ok({"contact": {"id": "ct1"}})]
    client = make_client(recorder)
    assert await client.find_contact_by_phone("+15550001111") is None
    assert await client.find_contact_by_phone("+15550001111") is None
    found = await client.find_contact_by_phone("+15550001111")
    assert found is not None and found.id == "ct1"


@pytest.mark.parametrize(
    ("payload", "blocked"),
    [
        ({"dnd": False}, False),
        ({"dnd": True, "dndSettings": {"SMS": {"status": "inactive"}}}, True),
        ({"dnd": False, "dndSettings": {"SMS": {"status": "active"}}}, True),
        ({"dnd": False, "dndSettings": {"SMS": {"status": "permanent", "code": "101"}}}, True),
        ({"dnd": False, "dndSettings": {"Email": {"status": "active"}}}, False),
        ({"dnd": False, "dndSettings": {"sms": {"status": "active"}}}, True),  # v3 keys
    ],
)
def test_sms_dnd_follows_the_conservative_blocking_rule(
    payload: dict[str, object], blocked: bool
) -> None:
    assert Contact.model_validate({"id": "c", **payload}).sms_dnd is blocked


@pytest.mark.anyio
async def test_numbers_parse_capabilities_and_default_also_in_the_v3_envelope(
    recorder: Recorder,
) -> None:
    numbers = {"numbers": [
        {"phoneNumber": "+15550001111", "capabilities": {"sms": True, "mms": True},
         "isDefaultNumber": True},
        {"phoneNumber": "+15550002222", "capabilities": {"sms": True, "mms": False}},
    ]}  # fmt: skip
    recorder.answers += [ok(numbers), ok({"status": "success", "data": numbers})]
    client = make_client(recorder)
    for _ in range(2):
        listed = await client.list_phone_numbers()
        assert listed.default is not None and listed.default.phone_number == "+15550001111"
        assert [n.capabilities.mms for n in listed.numbers] == [True, False]


@pytest.mark.anyio
async def test_a_body_of_the_wrong_shape_is_a_response_validation_error(
    recorder: Recorder,
) -> None:
    recorder.answers += [ok({"messageId": "m1"}), httpx2.Response(200, content=b"<html>")]
    client = make_client(recorder)
    with pytest.raises(ResponseValidationError) as info:
        await client.send_message(contact_id="c", message="m")
    assert "conversationId" in str(info.value)
    with pytest.raises(ResponseValidationError):
        await client.get_contact("c")


def test_unknown_fields_are_tolerated_and_models_round_trip() -> None:
    contact = Contact.model_validate(
        {"id": "c1", "phone": "+15550001111", "additionalEmails": ["x@y.z"], "tags": ["a"]}
    )
    assert Contact.model_validate(contact.model_dump(by_alias=True)) == contact
