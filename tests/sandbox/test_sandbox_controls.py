import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def test_state_shows_the_clock_seed_counts_and_configuration(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    state = (await http.get("/_sandbox/state")).json()
    assert (state["now"], state["seeded"]) == ("2026-01-01T00:00:00.000Z", True)
    assert state["seedIds"] == sb.seed_ids
    # 13 demo contacts, and 3 in each of the agency's three other sub-accounts
    assert state["counts"] == {"contacts": 13 + 3 * 3, "messages": 0}
    assert state["rateLimits"] == {"burst": 100, "window": 10.0, "daily": 200000}
    location, *others = state["locations"]
    assert [location["id"], *(o["id"] for o in others)] == list(sb.agency_location_ids)
    assert location["tokens"][0]["token"] == sb.token
    assert [n["phoneNumber"] for n in location["numbers"]] == ["+14155550190", "+14155550191"]


async def test_the_clock_advances_over_http(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    await http.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
    )
    advanced = (await http.post("/_sandbox/clock/advance", json={"seconds": 60})).json()
    assert advanced == {"now": "2026-01-01T00:01:00.000Z", "epoch": clock.now(), "transitions": 2}
    assert (await http.get("/_sandbox/clock")).json()["epoch"] == clock.now()
    backwards = await http.post("/_sandbox/clock/advance", json={"seconds": -1})
    assert backwards.status_code == 400


async def test_reset_forgets_everything_and_reseeds_the_same_ids(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    first = (
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
        )
    ).json()
    state = (await http.post("/_sandbox/reset", json={})).json()
    assert state["counts"] == {"contacts": 13 + 3 * 3, "messages": 0}
    again = (
        await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"},
        )
    ).json()
    assert again == first  # ids are deterministic from a fresh start


async def test_reset_without_seed_then_seed(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    empty = (await http.post("/_sandbox/reset", json={"seed": False})).json()
    assert (empty["seeded"], empty["locations"]) == (False, [])
    assert (await http.get(f"/contacts/{sb.seed_ids['reachable']}")).status_code == 401
    seeded = (await http.post("/_sandbox/seed")).json()
    assert seeded["seedIds"] == sb.seed_ids
    assert (await http.get(f"/contacts/{sb.seed_ids['reachable']}")).status_code == 200


async def test_faults_can_be_queued_listed_and_cleared_over_http(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    queued = await http.post("/_sandbox/faults", json={"kind": "429", "count": 2})
    assert queued.json()["faults"] == [
        {"kind": "429", "remaining": 2, "path": None, "method": None}
    ]
    assert (await http.post("/_sandbox/faults", json={"kind": "boom"})).status_code == 400
    assert (await http.get(f"/contacts/{sb.seed_ids['reachable']}")).status_code == 429
    await http.delete("/_sandbox/faults")
    assert (await http.get("/_sandbox/faults")).json() == {"faults": []}


async def test_webhook_targets_and_delivery_over_http(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    created = await http.post(
        "/_sandbox/webhook-targets",
        json={"url": "http://127.0.0.1:9/unreachable", "events": ["InboundMessage"]},
    )
    assert created.status_code == 201
    assert created.json() == {
        "id": 1,
        "url": "http://127.0.0.1:9/unreachable",
        "events": ["InboundMessage"],
        "inProcess": False,
    }
    bad = await http.post("/_sandbox/webhook-targets", json={"url": "ftp://x"})
    assert bad.status_code == 400
    listed = (await http.delete("/_sandbox/webhook-targets", params={"id": 1})).json()
    assert listed == {"targets": []}
    delivered = (await http.post("/_sandbox/webhooks/deliver")).json()
    assert delivered == {"attempted": 0, "pending": 0, "log": []}


async def test_tokens_and_locations_can_be_made_over_http(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    made = (
        await http.post(
            "/_sandbox/locations",
            json={"name": "Branch", "timezone": "America/Chicago", "numbers": ["+13125550190"]},
        )
    ).json()
    location_id = made["location"]["id"]
    assert len(location_id) == 20 and location_id.isalnum()
    token = (
        await http.post(
            "/_sandbox/tokens", json={"locationId": location_id, "scopes": ["locations.readonly"]}
        )
    ).json()["token"]
    async with sb.client(token=token, version="2021-07-28") as branch:
        location = await branch.get(f"/locations/{location_id}")
        numbers = await branch.get(f"/phone-system/numbers/location/{location_id}")
    assert location.json()["location"]["timezone"] == "America/Chicago"
    assert numbers.status_code == 401  # no phonenumbers.read scope
    tokens = (await http.get("/_sandbox/tokens")).json()["tokens"]
    assert {t["token"] for t in tokens} == {sb.token, made["token"], token}
    seeded = len(sb.agency_location_ids)
    assert len((await http.get("/_sandbox/locations")).json()["locations"]) == seeded + 1


async def test_rate_limits_are_settable_over_http(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    changed = (await http.post("/_sandbox/rate-limits", json={"burst": 1})).json()
    assert changed == {"burst": 1, "window": 10.0, "daily": 200000}
    url = f"/contacts/{sb.seed_ids['reachable']}"
    assert [(await http.get(url)).status_code for _ in range(2)] == [200, 429]
    assert (await http.get("/_sandbox/rate-limits")).json()["burst"] == 1
