"""The official GHL Python SDK (gohighlevel-api-client 3.0.0) as an independent client.

The SDK is built on plain ``httpx`` (not httpx2), so only this file imports it, and it
talks to the sandbox in-process through ``httpx.ASGITransport``. Its known bugs are
worked around, not asserted: it sends ``Version: v3``, prints unless ``log_level="none"``,
and ``get_message`` has no id parameter (``options={"url": ...}``).
"""

import json
from collections.abc import AsyncIterator
from typing import Any

# Plain httpx on purpose: the SDK is built on it (tests/** may import it; src/ may not).
import httpx
import httpx2
import pytest
from highlevel import HighLevel
from highlevel.logging.logger import Logger
from highlevel.webhook.webhook_manager import WebhookManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ghl(sb: Sandbox) -> AsyncIterator[Any]:
    client = HighLevel(private_integration_token=sb.token, log_level="none")
    await client.http_client.aclose()
    client.http_client = httpx.AsyncClient(
        base_url="http://ghl-sandbox.test",
        transport=httpx.ASGITransport(app=sb.app),
        headers=client._get_default_headers(),
        event_hooks={"response": [client._handle_response]},
    )
    client._initialize_services()
    yield client
    await client.http_client.aclose()


async def test_the_sdk_sends_gets_and_lists_a_message(
    sb: Sandbox, ghl: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = await ghl.conversations.send_a_new_message(
        {"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hello from the SDK"}
    )
    assert sent["msg"] == "Message queued successfully."
    fetched = await ghl.conversations.get_message(
        options={"url": f"/conversations/messages/{sent['messageId']}"}
    )
    assert fetched["message"]["body"] == "Hello from the SDK"
    sb.advance(5)
    listed = await ghl.conversations.get_messages(sent["conversationId"], limit=10)
    assert [m["id"] for m in listed["messages"]["messages"]] == [sent["messageId"]]
    assert listed["messages"]["messages"][0]["status"] == "delivered"
    assert capsys.readouterr().out == ""  # log_level="none" keeps stdout clean


async def test_the_sdks_unfilled_id_placeholder_gets_a_normal_404(sb: Sandbox, ghl: Any) -> None:
    with pytest.raises(Exception) as info:  # the SDK's GHLError
        await ghl.conversations.get_message()
    assert getattr(info.value, "status_code", None) == 404


async def test_the_sdk_reads_a_contact_and_cancels_a_schedule(sb: Sandbox, ghl: Any) -> None:
    contact = await ghl.contacts.get_contact(sb.seed_ids["sms_dnd"])
    assert contact["contact"]["dndSettings"]["SMS"]["status"] == "active"
    scheduled = await ghl.conversations.send_a_new_message(
        {
            "type": "SMS",
            "contactId": sb.seed_ids["reachable"],
            "message": "Later",
            "scheduledTimestamp": int(sb.clock.now()) + 3600,
        }
    )
    cancelled = await ghl.conversations.cancel_scheduled_message(scheduled["messageId"])
    assert cancelled["status"] == 200


async def test_the_sdks_own_verifiers_accept_the_sandboxs_webhook_signatures(
    sb: Sandbox, http: Any
) -> None:
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: Request) -> Response:
        seen.append((await request.body(), dict(request.headers)))
        return Response()

    receiver = httpx2.ASGITransport(app=Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    sb.add_webhook_target("http://receiver.test/hook", transport=receiver)
    await sb.reply(sb.seed_ids["reachable"], "STOP")
    await sb.deliver_webhooks()
    keys = sb.webhook_public_keys()
    manager = WebhookManager(Logger("none"), None, None)
    assert len(seen) == 3
    for body, headers in seen:
        text = body.decode()
        assert manager.verify_ed25519_signature(text, headers["x-ghl-signature"], keys["ed25519"])
        assert manager.verify_signature(text, headers["x-wh-signature"], keys["rsa"])
        assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()


async def test_the_sdks_search_contacts_advanced_works_unmodified(sb: Sandbox, ghl: Any) -> None:
    found = await ghl.contacts.search_contacts_advanced(
        {"locationId": sb.location_id, "page": 1, "pageLimit": 20, "query": "Ben"}
    )
    assert [c["id"] for c in found["contacts"]] == [sb.seed_ids["sms_dnd"]]
    assert found["total"] == 1 and "traceId" in found
    tagged = await ghl.contacts.search_contacts_advanced(
        {
            "locationId": sb.location_id,
            "pageLimit": 2,
            "filters": [{"field": "tags", "operator": "eq", "value": "sandbox"}],
            "sort": [{"field": "firstNameLowerCase", "direction": "asc"}],
        }
    )
    assert [c["firstName"] for c in tagged["contacts"]] == ["Ava", "Ben"]
    after = await ghl.contacts.search_contacts_advanced(
        {
            "locationId": sb.location_id,
            "pageLimit": 2,
            "filters": [{"field": "tags", "operator": "eq", "value": "sandbox"}],
            "sort": [{"field": "firstNameLowerCase", "direction": "asc"}],
            "searchAfter": tagged["contacts"][-1]["searchAfter"],
        }
    )
    assert [c["firstName"] for c in after["contacts"]] == ["Chloe", "Dan"]
