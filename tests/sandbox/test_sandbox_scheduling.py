import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def schedule(
    http: httpx2.AsyncClient, sb: Sandbox, at: float, trait: str = "reachable"
) -> str:
    response = await http.post(
        "/conversations/messages",
        json={
            "type": "SMS",
            "contactId": sb.seed_ids[trait],
            "message": "Later",
            "scheduledTimestamp": at,
        },
    )
    assert response.status_code == 200
    message_id: str = response.json()["messageId"]
    return message_id


def status(sb: Sandbox, message_id: str) -> str:
    message = sb.message(message_id)
    assert message is not None
    return str(message["status"])


async def test_a_future_timestamp_schedules_and_the_clock_dispatches_it(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() + 3600)
    assert status(sb, message_id) == "scheduled"
    sb.advance(3599)
    assert status(sb, message_id) == "scheduled"
    sb.advance(1)
    assert status(sb, message_id) == "pending"
    sb.advance(1)
    assert status(sb, message_id) == "sent"
    sb.advance(2)
    assert status(sb, message_id) == "delivered"


async def test_a_long_jump_runs_the_whole_lifecycle_at_once(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() + 60)
    sb.advance(86_400)
    assert status(sb, message_id) == "delivered"
    statuses = [e["status"] for e in sb.webhook_events if e.get("messageId") == message_id]
    assert statuses == ["scheduled", "pending", "sent", "delivered"]


async def test_a_timestamp_in_the_past_sends_now(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    assert status(sb, await schedule(http, sb, clock.now() - 5)) == "pending"


async def test_milliseconds_by_mistake_schedule_for_the_far_future(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() * 1000)
    sb.advance(365 * 86_400)
    assert status(sb, message_id) == "scheduled"


async def test_cancel_works_until_the_message_goes_out(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() + 600)
    response = await http.delete(f"/conversations/messages/{message_id}/schedule")
    assert response.status_code == 200
    assert response.json() == {
        "status": 200,
        "message": "Scheduled message cancelled successfully.",
    }
    sb.advance(3600)
    assert status(sb, message_id) == "cancelled"


async def test_cancel_after_dispatch_fails_inside_a_200(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() + 600)
    sb.advance(600)
    response = await http.delete(f"/conversations/messages/{message_id}/schedule")
    unknown = await http.delete("/conversations/messages/nope/schedule")
    expected = {"status": 404, "message": "Failed cancel the scheduled message"}
    assert (response.status_code, response.json()) == (200, expected)
    assert (unknown.status_code, unknown.json()) == (200, expected)


async def test_an_opt_out_before_dispatch_makes_the_scheduled_message_fail_21610(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    message_id = await schedule(http, sb, clock.now() + 600)
    await sb.reply(sb.seed_ids["reachable"], "STOP")
    sb.advance(700)
    message = sb.message(message_id)
    assert message is not None
    assert (message["status"], message["error"]["code"]) == ("failed", "21610")


async def test_a_scheduled_message_is_not_the_conversations_last_message_until_it_goes(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    await schedule(http, sb, clock.now() + 600)
    params = {"locationId": sb.location_id, "contactId": sb.seed_ids["reachable"]}
    before = (await http.get("/conversations/search", params=params)).json()
    sb.advance(600)
    after = (await http.get("/conversations/search", params=params)).json()
    assert before["conversations"][0]["lastMessageBody"] == ""
    assert after["conversations"][0]["lastMessageBody"] == "Later"
