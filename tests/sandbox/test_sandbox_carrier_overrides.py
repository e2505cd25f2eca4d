"""A number's carrier behaviour switched by hand (the console's phones, /_sandbox/carrier)."""

from __future__ import annotations

import httpx2
import pytest

from ghl_sms.sandbox import Sandbox
from ghl_sms.sandbox.carrier import CarrierOverrides, Outcome, Sender, plan

pytestmark = pytest.mark.anyio


async def _send(sb: Sandbox, http: httpx2.AsyncClient, trait: str) -> str:
    sent = await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids[trait], "message": "Hi"},
    )
    assert sent.status_code == 200, sent.text
    return str(sent.json()["messageId"])


def _final(sb: Sandbox, message_id: str) -> tuple[str, str | None]:
    message = sb.message(message_id)
    assert message is not None
    return message["status"], (message.get("error") or {}).get("code")


async def test_a_number_set_to_fail_fails_with_the_code_given(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    answer = await http.post(
        "/_sandbox/carrier",
        json={"phone": "+1 415 555 0100", "outcome": "undelivered", "code": "30007"},
    )
    assert answer.status_code == 200
    assert answer.json()["carrier"] == [
        {"phone": "+14155550100", "outcome": "undelivered", "code": "30007", "delay": 0.0}
    ]
    message_id = await _send(sb, http, "reachable")
    sb.advance(5)
    assert _final(sb, message_id) == ("undelivered", "30007")


async def test_deliver_overrides_the_numbers_own_rule_and_delete_restores_it(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    await http.post("/_sandbox/carrier", json={"phone": "+14155550107", "outcome": "delivered"})
    first = await _send(sb, http, "filtered")
    sb.advance(5)
    assert _final(sb, first) == ("delivered", None)
    cleared = await http.delete("/_sandbox/carrier", params={"phone": "+14155550107"})
    assert cleared.json() == {"carrier": []}
    second = await _send(sb, http, "filtered")
    sb.advance(5)
    assert _final(sb, second) == ("undelivered", "30007")


async def test_slow_delivery_holds_the_message_pending_for_the_delay(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    await http.post(
        "/_sandbox/carrier", json={"phone": "+14155550100", "outcome": "delivered", "delay": 20}
    )
    message_id = await _send(sb, http, "reachable")
    sb.advance(15)
    assert _final(sb, message_id) == ("pending", None)
    sb.advance(10)  # 1 s + 20 s to sent, 2 s more to delivered
    assert _final(sb, message_id) == ("delivered", None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"outcome": "failed", "code": "30007"}, "phone"),
        ({"phone": "not a number", "outcome": "delivered"}, "not a phone number"),
        ({"phone": "+14155550100", "outcome": "lost"}, "outcome must be"),
        ({"phone": "+14155550100", "outcome": "failed"}, "needs a carrier code"),
        ({"phone": "+14155550100", "outcome": "delivered", "delay": -1}, "delay"),
    ],
)
async def test_bad_settings_are_a_400_that_says_what_to_send(
    http: httpx2.AsyncClient, body: dict[str, object], problem: str
) -> None:
    answer = await http.post("/_sandbox/carrier", json=body)
    assert answer.status_code == 400
    assert problem in answer.json()["message"]
    assert (await http.get("/_sandbox/carrier")).json() == {"carrier": []}


def test_a_wrong_sender_still_fails_first_and_reset_forgets_overrides(sb: Sandbox) -> None:
    overrides = CarrierOverrides()
    overrides.set("+14155550100", "delivered")
    found = overrides.get("+14155550100")
    assert found is not None
    unregistered = Sender(sms=True, mms=True, a2p_registered=False)
    assert plan("+14155550100", unregistered, has_media=False, override=found.outcome) == Outcome(
        "failed", "30034"
    )
    sb.engine.carrier.set("+14155550100", "failed", "30008")
    sb.reset()
    assert sb.engine.carrier.as_json() == []
