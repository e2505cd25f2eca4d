from typing import Any

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def sms(sb: Sandbox, trait: str = "reachable", **extra: Any) -> dict[str, Any]:
    return {"type": "SMS", "contactId": sb.seed_ids[trait], "message": "Hello", **extra}


async def test_a_send_is_queued_and_answers_like_ghl(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "conversationId": body["conversationId"],
        "messageId": body["messageId"],
        "msg": "Message queued successfully.",
        "status": "pending",
    }
    assert len(body["messageId"]) == 20 and body["messageId"].isalnum()
    assert sb.message(body["messageId"]) == {
        "id": body["messageId"],
        "type": 2,
        "messageType": "TYPE_SMS",
        "locationId": sb.location_id,
        "contactId": sb.seed_ids["reachable"],
        "conversationId": body["conversationId"],
        "dateAdded": "2026-01-01T00:00:00.000Z",
        "body": "Hello",
        "direction": "outbound",
        "status": "pending",
        "contentType": "text/plain",
        "attachments": [],
        "source": "api",
        "meta": {},
        "from": sb.seed_ids["default_number"],
        "to": "+14155550100",
    }


async def test_a_second_message_lands_in_the_same_conversation(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    first = (await http.post("/conversations/messages", json=sms(sb))).json()
    second = (await http.post("/conversations/messages", json=sms(sb, message="Again"))).json()
    other = (await http.post("/conversations/messages", json=sms(sb, "email_dnd"))).json()
    assert first["conversationId"] == second["conversationId"] != other["conversationId"]
    assert first["messageId"] != second["messageId"]


async def test_the_python_sdks_body_is_accepted(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    # subType/status are required by the 2026-05 spec, but real clients omit them.
    body = {"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "x"}
    with_status = {**body, "status": "pending"}
    assert (await http.post("/conversations/messages", json=body)).status_code == 200
    assert (await http.post("/conversations/messages", json=with_status)).status_code == 200


@pytest.mark.parametrize("wrong", ["sms", "MMS", "Sms", None, 1])
async def test_the_type_is_case_sensitive_and_there_is_no_mms_type(
    sb: Sandbox, http: httpx2.AsyncClient, wrong: object
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, type=wrong))
    assert response.status_code == 422
    assert response.json() == {
        "statusCode": 422,
        "message": ["type must be a valid enum value"],
        "error": "Unprocessable Entity",
    }


async def test_a_contact_with_sms_dnd_is_refused(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, "sms_dnd"))
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "Cannot send message as DND is active for SMS.",
        "error": "Bad Request",
    }


async def test_global_dnd_blocks_sms_too(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    contact = sb.create_contact({"firstName": "Zed", "phone": "+14155550120", "dnd": True})
    response = await http.post(
        "/conversations/messages", json={"type": "SMS", "contactId": contact["id"], "message": "x"}
    )
    assert response.status_code == 400


async def test_email_only_dnd_does_not_block_sms(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, "email_dnd"))
    assert response.status_code == 200


async def test_a_contact_without_a_phone_is_refused(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, "no_phone"))
    assert response.status_code == 400
    assert response.json()["message"] == "Missing phone number"


async def test_to_number_overrides_the_contacts_phone(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    body = (
        await http.post(
            "/conversations/messages", json=sms(sb, "no_phone", toNumber="+1 415 555 0100")
        )
    ).json()
    message = sb.message(body["messageId"])
    assert message is not None and message["to"] == "+14155550100"


async def test_unknown_properties_get_422_property_should_not_exist(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, conversationId="abc"))
    assert response.status_code == 422
    assert response.json()["message"] == ["property conversationId should not exist"]


async def test_the_body_may_be_1600_characters_but_not_more(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    ok = await http.post("/conversations/messages", json=sms(sb, message="a" * 1600))
    long = await http.post("/conversations/messages", json=sms(sb, message="a" * 1601))
    assert ok.status_code == 200
    assert long.status_code == 422
    assert long.json()["message"] == ["message must be shorter than or equal to 1600 characters"]


async def test_length_counts_utf16_units_like_javascript(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, message="😀" * 801))
    assert response.status_code == 422


async def test_mms_is_sms_with_attachments(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    urls = ["https://example.com/a.jpg", "http://example.com/b.png"]
    body = (await http.post("/conversations/messages", json=sms(sb, attachments=urls))).json()
    message = sb.message(body["messageId"])
    assert message is not None
    assert (message["messageType"], message["attachments"]) == ("TYPE_SMS", urls)


async def test_an_mms_without_text_is_fine_but_an_empty_sms_is_not(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    media = await http.post(
        "/conversations/messages",
        json={
            "type": "SMS",
            "contactId": sb.seed_ids["reachable"],
            "attachments": ["https://example.com/a.jpg"],
        },
    )
    empty = await http.post("/conversations/messages", json=sms(sb, message=""))
    assert (media.status_code, empty.status_code) == (200, 422)


async def test_more_than_ten_attachments_are_refused(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    urls = [f"https://example.com/{i}.jpg" for i in range(11)]
    response = await http.post("/conversations/messages", json=sms(sb, attachments=urls))
    assert response.status_code == 422
    assert response.json()["message"] == ["attachments must contain no more than 10 elements"]


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "a.jpg", 5])
async def test_attachments_must_be_http_urls(
    sb: Sandbox, http: httpx2.AsyncClient, url: object
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, attachments=[url]))
    assert response.status_code == 422
    assert response.json()["message"] == ["each value in attachments must be a URL address"]


async def test_every_validation_error_is_listed(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post("/conversations/messages", json={})
    assert response.json()["message"] == [
        "type must be a valid enum value",
        "contactId must be a string",
    ]


async def test_an_unknown_contact_is_a_400(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post(
        "/conversations/messages", json={"type": "SMS", "contactId": "nope", "message": "x"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Contact with id nope not found"


async def test_channels_other_than_sms_are_not_emulated(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.post("/conversations/messages", json=sms(sb, type="Email"))
    assert response.status_code == 400


async def test_malformed_json_is_a_400(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.post(
        "/conversations/messages", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Unexpected token in JSON")


async def test_a_send_from_the_unregistered_number_fails_30034(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    body = sms(sb, fromNumber=sb.seed_ids["unregistered_number"])
    sent = (await http.post("/conversations/messages", json=body)).json()
    sb.advance(5)
    message = sb.message(sent["messageId"])
    assert message is not None
    assert (message["status"], message["from"]) == ("failed", "+14155550191")
    assert message["error"] == {
        "code": "30034",
        "type": "carrier",
        "message": "US A2P 10DLC - Message from an Unregistered Number",
    }


async def test_a_send_from_a_number_the_location_does_not_own_fails_21606(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sent = (
        await http.post("/conversations/messages", json=sms(sb, fromNumber="+12125550123"))
    ).json()
    sb.advance(5)
    message = sb.message(sent["messageId"])
    assert message is not None and message["error"]["code"] == "21606"
