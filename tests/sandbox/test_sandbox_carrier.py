import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox
from ghl_sms.sandbox.carrier import Outcome, Sender, next_step, plan

REGISTERED = Sender(sms=True, mms=True, a2p_registered=True)


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("+14155550100", Outcome("delivered")),
        ("+13055550199", Outcome("delivered")),
        ("+447400123456", Outcome("delivered")),
        ("+10005550100", Outcome("failed", "21211")),
        ("12345", Outcome("failed", "21211")),
        ("+989121234567", Outcome("failed", "21408")),
        ("+14155550103", Outcome("undelivered", "30003")),
        ("+12125550104", Outcome("undelivered", "30004")),
        ("+14155550105", Outcome("undelivered", "30005")),
        ("+14155550106", Outcome("undelivered", "30006")),
        ("+14155550107", Outcome("undelivered", "30007")),
        ("+14155550108", Outcome("undelivered", "30008")),
        ("+14155550110", Outcome("failed", "21610")),
        ("+14155550111", Outcome("delivered")),
        ("+14155550114", Outcome("failed", "21614")),
    ],
)
def test_the_recipient_decides_the_outcome(to: str, expected: Outcome) -> None:
    assert plan(to, REGISTERED, has_media=False) == expected


def test_mms_to_a_handset_without_mms_is_undelivered_30011() -> None:
    assert plan("+14155550111", REGISTERED, has_media=True) == Outcome("undelivered", "30011")


def test_the_sender_decides_before_the_recipients_handset() -> None:
    unregistered = Sender(sms=True, mms=True, a2p_registered=False)
    text_only = Sender(sms=True, mms=False, a2p_registered=True)
    assert plan("+14155550106", None, has_media=False) == Outcome("failed", "21606")
    assert plan("+14155550100", Sender(False, False, True), has_media=False).code == "21606"
    assert plan("+14155550106", unregistered, has_media=False) == Outcome("failed", "30034")
    assert plan("+447400123456", unregistered, has_media=False) == Outcome("delivered")
    assert plan("+14155550100", text_only, has_media=True) == Outcome("failed", "30011")


def test_the_lifecycle_steps_are_one_then_two_seconds() -> None:
    delivered, failed = Outcome("delivered"), Outcome("failed", "21211")
    undelivered = Outcome("undelivered", "30007")
    assert next_step("pending", delivered) == (1.0, "sent")
    assert next_step("sent", delivered) == (2.0, "delivered")
    assert next_step("pending", failed) == (1.0, "failed")
    assert next_step("sent", undelivered) == (2.0, "undelivered")
    assert next_step("delivered", delivered) is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("trait", "final", "code"),
    [
        ("reachable", "delivered", None),
        ("email_dnd", "delivered", None),
        ("quiet_hours_fl", "delivered", None),
        ("quiet_hours_tx", "delivered", None),
        ("international", "delivered", None),
        ("landline", "undelivered", "30006"),
        ("invalid", "failed", "21211"),
        ("opted_out", "failed", "21610"),
        ("unreachable", "undelivered", "30003"),
        ("filtered", "undelivered", "30007"),
        ("no_mms", "delivered", None),
    ],
)
async def test_each_seed_contact_ends_as_documented(
    sb: Sandbox, http: httpx2.AsyncClient, trait: str, final: str, code: str | None
) -> None:
    sent = (
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids[trait], "message": "Hi"},
        )
    ).json()
    seen = []
    for _ in range(4):
        message = sb.message(sent["messageId"])
        assert message is not None
        seen.append(message["status"])
        sb.advance(1)
    assert seen[0] == "pending" and seen[-1] == final
    assert ("sent" in seen) is (final != "failed")
    message = sb.message(sent["messageId"])
    assert message is not None
    assert (message.get("error") or {}).get("code") == code


@pytest.mark.anyio
async def test_unreachable_handsets_and_landlines_switch_sms_dnd_on_as_ghl_does(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    for trait in ("landline", "filtered"):
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids[trait], "message": "Hi"},
        )
    sb.advance(5)
    landline = sb.contact(sb.seed_ids["landline"])
    filtered = sb.contact(sb.seed_ids["filtered"])
    assert landline is not None and filtered is not None
    assert landline["dndSettings"]["SMS"]["status"] == "active"
    assert "SMS" not in filtered["dndSettings"]
    dnd_events = [e for e in sb.webhook_events if e["type"] == "ContactDndUpdate"]
    assert [e["id"] for e in dnd_events] == [sb.seed_ids["landline"]]
    again = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids["landline"], "message": "Hi"},
    )
    assert again.status_code == 400


@pytest.mark.anyio
async def test_progress_needs_no_background_task_only_a_request(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    sent = (
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
        )
    ).json()
    clock.advance(10)  # the clock alone; the next request catches up
    response = await http.get(f"/conversations/messages/{sent['messageId']}")
    assert response.json()["message"]["status"] == "delivered"
