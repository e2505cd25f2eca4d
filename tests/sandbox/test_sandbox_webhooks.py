import base64
import json
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio

ENVELOPE = {"type", "locationId", "appId", "versionId", "timestamp", "webhookId"}


class Receiver:
    """An in-process webhook endpoint that keeps raw bodies and headers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[tuple[bytes, dict[str, str]]] = []

        async def hook(request: Request) -> Response:
            self.calls.append((await request.body(), dict(request.headers)))
            return Response(status_code=self.status)

        self.transport = httpx2.ASGITransport(
            app=Starlette(routes=[Route("/hook", hook, methods=["POST"])])
        )

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.calls]


async def send(http: httpx2.AsyncClient, sb: Sandbox, trait: str = "reachable") -> str:
    response = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids[trait], "message": "Hi"},
    )
    message_id: str = response.json()["messageId"]
    return message_id


async def test_both_signatures_verify_with_the_served_public_keys(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    receiver = Receiver()
    sb.add_webhook_target("http://receiver.test/hook", transport=receiver.transport)
    await send(http, sb)
    assert await sb.deliver_webhooks() == 1
    keys = (await http.get("/_sandbox/webhook-keys")).json()
    assert keys["rsaBits"] == 2048
    rsa_key = serialization.load_pem_public_key(keys["rsa"].encode())
    ed_key = serialization.load_pem_public_key(keys["ed25519"].encode())
    assert isinstance(rsa_key, rsa.RSAPublicKey)
    assert isinstance(ed_key, ed25519.Ed25519PublicKey)
    body, headers = receiver.calls[0]
    rsa_key.verify(
        base64.b64decode(headers["x-wh-signature"]), body, padding.PKCS1v15(), hashes.SHA256()
    )
    ed_key.verify(base64.b64decode(headers["x-ghl-signature"]), body)
    assert headers["content-type"] == "application/json"
    assert keys == {
        **sb.webhook_public_keys(),
        "rsaBits": 2048,
        "headers": {"rsa": "x-wh-signature", "ed25519": "x-ghl-signature"},
    }


async def test_a_changed_byte_breaks_the_signature(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    receiver = Receiver()
    sb.add_webhook_target("http://receiver.test/hook", transport=receiver.transport)
    await send(http, sb)
    await sb.deliver_webhooks()
    body, headers = receiver.calls[0]
    key = serialization.load_pem_public_key(sb.webhook_public_keys()["ed25519"].encode())
    assert isinstance(key, ed25519.Ed25519PublicKey)
    from cryptography.exceptions import InvalidSignature

    with pytest.raises(InvalidSignature):
        key.verify(base64.b64decode(headers["x-ghl-signature"]), body.replace(b"Hi", b"Ho"))


async def test_outbound_message_fires_on_each_status_change_in_ghls_shape(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    receiver = Receiver()
    sb.add_webhook_target("http://receiver.test/hook", transport=receiver.transport)
    message_id = await send(http, sb)
    sb.advance(5)
    await sb.deliver_webhooks()
    payloads = receiver.payloads
    assert [p["status"] for p in payloads] == ["pending", "sent", "delivered"]
    first = payloads[0]
    assert ENVELOPE <= set(first)
    assert len({p["webhookId"] for p in payloads}) == 3
    assert {k: v for k, v in first.items() if k not in ("webhookId", "conversationId")} == {
        "type": "OutboundMessage",
        "locationId": sb.location_id,
        "appId": first["appId"],
        "versionId": first["versionId"],
        "timestamp": "2026-01-01T00:00:00.000Z",
        "attachments": [],
        "body": "Hi",
        "contactId": sb.seed_ids["reachable"],
        "contentType": "text/plain",
        "dateAdded": "2026-01-01T00:00:00.000Z",
        "direction": "outbound",
        "messageType": "SMS",
        "messageTypeId": 2,
        "messageTypeString": "TYPE_SMS",
        "messageId": message_id,
        "status": "pending",
        "source": "api",
        "from": "+14155550190",
        "to": "+14155550100",
        "conversationProviderId": first["conversationProviderId"],
    }


async def test_a_failed_message_event_carries_the_carrier_error(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    await send(http, sb, "filtered")
    sb.advance(5)
    final = sb.webhook_events[-1]
    assert final["status"] == "undelivered"
    assert final["error"] == {"code": "30007", "type": "carrier", "message": "Message filtered"}


async def test_a_reply_fires_inbound_message_and_unread_update(sb: Sandbox) -> None:
    receiver = Receiver()
    sb.add_webhook_target(
        "http://receiver.test/hook",
        transport=receiver.transport,
        events=["InboundMessage", "ConversationUnreadUpdate"],
    )
    reply = await sb.reply(sb.seed_ids["reachable"], "Hello there", ["https://example.com/p.jpg"])
    await sb.deliver_webhooks()
    inbound, unread = receiver.payloads
    assert ENVELOPE <= set(inbound) and ENVELOPE <= set(unread)
    assert {
        k: inbound[k]
        for k in (
            "type",
            "direction",
            "messageType",
            "status",
            "body",
            "messageId",
            "from",
            "to",
            "attachments",
        )
    } == {
        "type": "InboundMessage",
        "direction": "inbound",
        "messageType": "SMS",
        "status": "delivered",
        "body": "Hello there",
        "messageId": reply.message_id,
        "from": "+14155550100",
        "to": "+14155550190",
        "attachments": ["https://example.com/p.jpg"],
    }
    assert {k: v for k, v in unread.items() if k not in ENVELOPE} == {
        "id": reply.conversation_id,
        "contactId": sb.seed_ids["reachable"],
        "unreadCount": 1,
        "inbox": True,
        "starred": False,
        "deleted": False,
    }


async def test_stop_fires_contact_dnd_update_with_the_whole_contact(sb: Sandbox) -> None:
    await sb.reply(sb.seed_ids["reachable"], "STOP")
    event = sb.webhook_events[-1]
    assert event["type"] == "ContactDndUpdate"
    assert event["id"] == sb.seed_ids["reachable"]
    assert event["dndSettings"]["SMS"]["status"] == "permanent"
    assert (event["firstName"], event["phone"], event["dnd"]) == ("Ava", "+14155550100", False)


async def test_a_429_answer_is_retried_every_ten_minutes_and_a_500_never(
    sb: Sandbox, clock: FakeClock
) -> None:
    busy, broken = Receiver(status=429), Receiver(status=500)
    only = ["InboundMessage"]
    sb.add_webhook_target("http://busy.test/hook", transport=busy.transport, events=only)
    sb.add_webhook_target("http://broken.test/hook", transport=broken.transport, events=only)
    await sb.reply(sb.seed_ids["reachable"], "hello")
    assert await sb.deliver_webhooks() == 2
    assert await sb.deliver_webhooks() == 0
    clock.advance(600)
    assert await sb.deliver_webhooks() == 1
    assert (len(busy.calls), len(broken.calls)) == (2, 1)
    assert [(e["url"], e["status"], e["willRetry"]) for e in sb.webhook_log] == [
        ("http://busy.test/hook", 429, True),
        ("http://broken.test/hook", 500, False),
        ("http://busy.test/hook", 429, True),
    ]
    assert busy.calls[0] == busy.calls[1]  # the same bytes and signatures, retried as-is


async def test_an_unreachable_target_is_logged_not_raised(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    sb.add_webhook_target("http://down.test/hook", transport=httpx2.MockTransport(refuse))
    await send(http, sb)
    assert await sb.deliver_webhooks() == 1
    assert sb.webhook_log[0]["error"].startswith("ConnectError")


async def test_targets_can_be_removed(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    receiver = Receiver()
    target = sb.add_webhook_target("http://receiver.test/hook", transport=receiver.transport)
    await send(http, sb)
    await sb.remove_webhook_target(target)
    assert await sb.deliver_webhooks() == 0
