import httpx2
import pytest

from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def sms_status(sb: Sandbox, trait: str) -> str | None:
    contact = sb.contact(sb.seed_ids[trait])
    assert contact is not None
    return (contact["dndSettings"].get("SMS") or {}).get("status")


async def test_a_reply_is_an_inbound_message_in_the_contacts_conversation(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sent = (
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
        )
    ).json()
    reply = await sb.reply(sb.seed_ids["reachable"], "Hi back")
    assert reply.conversation_id == sent["conversationId"]
    assert reply.keyword is None
    message = sb.message(reply.message_id)
    assert message is not None
    assert (message["direction"], message["status"], message["body"]) == (
        "inbound",
        "delivered",
        "Hi back",
    )
    conversation = (await http.get(f"/conversations/{reply.conversation_id}")).json()
    assert conversation["unreadCount"] == 1
    await sb.reply(sb.seed_ids["reachable"], "Still there?")
    conversation = (await http.get(f"/conversations/{reply.conversation_id}")).json()
    assert conversation["unreadCount"] == 2


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "opt-out", "STOP ALL", "quit"])
async def test_opt_out_keywords_set_sms_dnd_permanently_and_block_sends(
    sb: Sandbox, http: httpx2.AsyncClient, word: str
) -> None:
    reply = await sb.reply(sb.seed_ids["reachable"], word)
    assert reply.keyword == "opt_out"
    assert sms_status(sb, "reachable") == "permanent"
    refused = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
    )
    assert refused.status_code == 400


async def test_start_lifts_the_opt_out(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    await sb.reply(sb.seed_ids["reachable"], "STOP")
    reply = await sb.reply(sb.seed_ids["reachable"], "START")
    assert reply.keyword == "opt_in"
    assert sms_status(sb, "reachable") == "inactive"
    sent = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Welcome back"},
    )
    assert sent.status_code == 200
    types = [e["type"] for e in sb.webhook_events if e["type"] == "ContactDndUpdate"]
    assert types == ["ContactDndUpdate", "ContactDndUpdate"]


async def test_start_also_lifts_dnd_set_by_hand(sb: Sandbox) -> None:
    await sb.reply(sb.seed_ids["sms_dnd"], "start")
    assert sms_status(sb, "sms_dnd") == "inactive"


async def test_help_changes_nothing(sb: Sandbox) -> None:
    before = len(sb.webhook_events)
    reply = await sb.reply(sb.seed_ids["reachable"], "HELP")
    assert reply.keyword == "help"
    assert sms_status(sb, "reachable") is None
    assert [e["type"] for e in sb.webhook_events[before:]] == [
        "InboundMessage",
        "ConversationUnreadUpdate",
    ]


async def test_a_contact_without_a_phone_cannot_reply(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="no phone"):
        await sb.reply(sb.seed_ids["no_phone"], "hi")
    with pytest.raises(KeyError):
        await sb.reply("nobody", "hi")


async def test_a_reply_over_http_answers_with_the_message_and_keyword(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    response = await http.post(
        "/_sandbox/reply", json={"contactId": sb.seed_ids["reachable"], "body": "STOP"}
    )
    body = response.json()
    assert body["keyword"] == "opt_out"
    assert body["message"]["direction"] == "inbound"
    bad = await http.post("/_sandbox/reply", json={"contactId": "nobody", "body": "x"})
    assert bad.status_code == 400
