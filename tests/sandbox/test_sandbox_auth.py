import httpx2
import pytest

from ghl_sms.sandbox import ACCEPTED_VERSIONS, Sandbox

pytestmark = pytest.mark.anyio

RATE_HEADERS = {
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
}


async def test_a_request_without_a_token_gets_401_in_ghl_shape(sb: Sandbox) -> None:
    async with sb.client(headers={"Authorization": ""}) as http:
        response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}
    assert RATE_HEADERS <= set(response.headers)


async def test_an_unknown_pit_gets_401_invalid_token(sb: Sandbox) -> None:
    async with sb.client(token="pit-00000000-0000-4000-8000-000000000000") as http:
        response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token: access token is invalid"


async def test_a_token_of_another_location_gets_403(sb: Sandbox) -> None:
    other = sb.create_location(name="Other clinic", numbers=["+12125550190"])
    async with sb.client(token=sb.create_token(other)) as http:
        response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
        listed = await http.get(f"/phone-system/numbers/location/{sb.location_id}")
    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403,
        "message": "The token does not have access to this location.",
        "error": "Forbidden",
    }
    assert listed.status_code == 403


async def test_a_missing_scope_gets_401_not_authorized_for_this_scope(sb: Sandbox) -> None:
    token = sb.create_token(sb.location_id, scopes=["contacts.readonly"])
    async with sb.client(token=token) as http:
        allowed = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
        refused = await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "hi"},
        )
    assert allowed.status_code == 200
    assert refused.status_code == 401
    assert refused.json()["message"] == "The token is not authorized for this scope."


async def test_the_version_header_is_required(sb: Sandbox) -> None:
    async with sb.client(version=None) as http:
        response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert response.status_code == 400
    assert response.json()["message"] == "Version header was not found"


@pytest.mark.parametrize("version", sorted(ACCEPTED_VERSIONS))
async def test_every_version_real_clients_send_is_accepted_on_every_route(
    sb: Sandbox, version: str
) -> None:
    async with sb.client(version=version) as http:
        contact = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
        sent = await http.post(
            "/conversations/messages",
            json={"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "hi"},
        )
    assert (contact.status_code, sent.status_code) == (200, 200)


async def test_strict_mode_wants_each_modules_own_version() -> None:
    async with Sandbox(strict_version=True) as sb, sb.client(version="2021-04-15") as http:
        contact = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
        numbers = await http.get(
            f"/phone-system/numbers/location/{sb.location_id}", headers={"Version": "2021-07-28"}
        )
    assert contact.status_code == 400
    assert numbers.status_code == 200


async def test_sdk_identification_headers_and_json_content_type_on_get_are_ignored(
    sb: Sandbox,
) -> None:
    headers = {
        "GHL-SDK-Version": "python/3.0.0",
        "x-sdk-version": "3.1.0",
        "Content-Type": "application/json",
    }
    async with sb.client(version="v3", headers=headers) as http:
        response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert response.status_code == 200


async def test_sandbox_controls_need_no_token_but_ghl_routes_do(sb: Sandbox) -> None:
    async with httpx2.AsyncClient(transport=sb.transport(), base_url=sb.base_url) as http:
        state = await http.get("/_sandbox/state")
        ghl = await http.get(f"/locations/{sb.location_id}", headers={"Version": "2021-07-28"})
    assert state.status_code == 200
    assert ghl.status_code == 401


async def test_an_unknown_route_answers_like_nestjs(http: httpx2.AsyncClient) -> None:
    response = await http.get("/conversations/messages/x/y/z")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot GET /conversations/messages/x/y/z",
        "error": "Not Found",
    }
