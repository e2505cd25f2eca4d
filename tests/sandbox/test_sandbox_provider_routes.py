"""The conversation-provider routes: inbound messages and status updates."""

from __future__ import annotations

from typing import Any

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio

AVA = "sbxCtReachable000001"


async def _conversation(sb: Sandbox) -> str:
    async with sb.client() as http:
        sent = await http.post(
            "/conversations/messages", json={"type": "SMS", "contactId": AVA, "message": "Hi"}
        )
        return str(sent.json()["conversationId"])


async def post_inbound(sb: Sandbox, body: dict[str, Any]) -> Any:
    async with sb.client() as http:
        return await http.post("/conversations/messages/inbound", json=body)


async def test_an_sms_inbound_is_stored_and_fires_webhooks() -> None:
    sb = Sandbox(clock=FakeClock())
    conversation = await _conversation(sb)
    answer = await post_inbound(
        sb, {"type": "SMS", "conversationId": conversation, "contactId": AVA, "message": "STOP"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True and body["message"] == "Message received"
    assert sb.message(body["messageId"])["direction"] == "inbound"  # type: ignore[index]
    types = [e["type"] for e in sb.webhook_events]
    assert "InboundMessage" in types and "ContactDndUpdate" in types  # STOP still honoured


async def test_a_custom_inbound_without_a_provider_is_201_empty_and_dropped() -> None:
    sb = Sandbox(clock=FakeClock())
    conversation = await _conversation(sb)
    before = sb.store.count_messages()
    answer = await post_inbound(
        sb, {"type": "Custom", "conversationId": conversation, "contactId": AVA, "message": "x"}
    )
    assert (answer.status_code, answer.content) == (201, b"")
    assert sb.store.count_messages() == before


async def test_an_unknown_provider_id_is_a_500_as_in_ghl() -> None:
    sb = Sandbox(clock=FakeClock())
    conversation = await _conversation(sb)
    answer = await post_inbound(
        sb,
        {"type": "SMS", "conversationId": conversation, "contactId": AVA, "message": "x",
         "conversationProviderId": "61d6d1f9cdac7612faf80753"},
    )  # fmt: skip
    assert answer.status_code == 500
    assert answer.json() == {"statusCode": 500, "message": "Internal server error"}


async def test_inbound_validation_and_type_mismatch() -> None:
    sb = Sandbox(clock=FakeClock())
    conversation = await _conversation(sb)
    bad = await post_inbound(sb, {"type": "sms", "contactId": AVA, "extra": 1})
    assert bad.status_code == 422
    assert "type must be a valid enum value" in bad.json()["message"]
    assert "property extra should not exist" in bad.json()["message"]
    email = await post_inbound(
        sb, {"type": "Email", "conversationId": conversation, "contactId": AVA}
    )
    assert (email.status_code, email.json()["message"]) == (
        400,
        "Incorrect conversationProviderId/type",
    )


async def test_status_updates_validate_then_refuse_messages_no_provider_owns() -> None:
    sb = Sandbox(clock=FakeClock())
    await _conversation(sb)
    message_id = sb.webhook_events[0]["messageId"]
    async with sb.client() as http:
        bad = await http.put(f"/conversations/messages/{message_id}/status", json={"status": "x"})
        assert bad.status_code == 422
        missing = await http.put("/conversations/messages/nope/status", json={"status": "read"})
        assert missing.status_code == 404
        refused = await http.put(
            f"/conversations/messages/{message_id}/status", json={"status": "delivered"}
        )
        assert refused.status_code == 403
        assert refused.json()["message"] == "No conversation provider found for this message"
