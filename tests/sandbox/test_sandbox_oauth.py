"""The sandbox as an agency: GHL's OAuth flow, token classes, expiry, rotation and
per-location rate limits (ghl-api.md §1.1, §7; spec apps/oauth.json)."""

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import OAUTH_APP, Sandbox
from ghl_sms.sandbox._seed import seed as seed_demo_location_only

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:53682/callback"
FORM = "application/x-www-form-urlencoded"
LOCATION_2 = "sandboxDemoLocation2"
LOCATION_3 = "sandboxDemoLocation3"
NOT_INSTALLED = "sandboxDemoLocation4"
DAY = 86_400


@pytest.fixture
async def raw(sb: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    """A client with no token: the OAuth endpoints authenticate by form or by header."""
    async with httpx2.AsyncClient(transport=sb.transport(), base_url=sb.base_url) as client:
        yield client


def _authorize_params(**extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": OAUTH_APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": " ".join(OAUTH_APP.scopes),
        **extra,
    }


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


async def authorize(raw: httpx2.AsyncClient, **extra: str) -> str:
    """Approve at once (``approve=1``) and return the code from the 302."""
    response = await raw.get(
        "/oauth/chooselocation", params=_authorize_params(approve="1", **extra)
    )
    assert response.status_code == 302, response.text
    return _query(response.headers["location"])["code"][0]


async def token_request(raw: httpx2.AsyncClient, **fields: str) -> httpx2.Response:
    form = {"client_id": OAUTH_APP.client_id, "client_secret": OAUTH_APP.client_secret}
    return await raw.post("/oauth/token", data={**form, **fields})


async def company_tokens(raw: httpx2.AsyncClient, **extra: str) -> dict[str, Any]:
    code = await authorize(raw, **extra)
    response = await token_request(
        raw, grant_type="authorization_code", code=code, user_type="Company",
        redirect_uri=REDIRECT,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str, version: str = "2021-07-28") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Version": version}


async def location_tokens(
    raw: httpx2.AsyncClient, company: dict[str, Any], location_id: str
) -> dict[str, Any]:
    response = await raw.post(
        "/oauth/locationToken",
        data={"companyId": company["companyId"], "locationId": location_id},
        headers=bearer(company["access_token"]),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send(
    raw: httpx2.AsyncClient, token: str, contact_id: str, text: str = "Hi"
) -> httpx2.Response:
    return await raw.post(
        "/conversations/messages",
        json={"type": "SMS", "contactId": contact_id, "message": text},
        headers=bearer(token, "2021-04-15"),
    )


def reachable(sb: Sandbox, location_id: str) -> str:
    agency = sb.engine.oauth.store.company_locations(sb.agency_id)
    assert location_id in {loc["id"] for loc in agency}
    [contact] = [c for c in sb.engine.store.find_contacts(location_id) if "reachable" in c["tags"]]
    return str(contact["id"])


# -- the whole flow -----------------------------------------------------------------------


async def test_login_location_tokens_send_in_two_sub_accounts_expire_refresh_and_send_again(
    sb: Sandbox, raw: httpx2.AsyncClient, clock: FakeClock
) -> None:
    # The consent page, then its form, as a browser would.
    page = await raw.get("/oauth/chooselocation", params=_authorize_params(state="s1"))
    assert page.status_code == 200 and "Allow &amp; Install" in page.text
    approved = await raw.post(
        "/oauth/chooselocation",
        data={**_authorize_params(state="s1"), "location_id": ""},
        headers={"Content-Type": FORM},
    )
    assert approved.status_code == 302
    redirect = approved.headers["location"]
    assert redirect.startswith(REDIRECT + "?")
    assert _query(redirect)["state"] == ["s1"]
    code = _query(redirect)["code"][0]

    exchanged = await token_request(
        raw, grant_type="authorization_code", code=code, user_type="Company",
        redirect_uri=REDIRECT,
    )  # fmt: skip
    assert exchanged.status_code == 200
    company = exchanged.json()
    assert {k: company[k] for k in ("token_type", "expires_in", "userType", "companyId")} == {
        "token_type": "Bearer",
        "expires_in": 86399,
        "userType": "Company",
        "companyId": sb.agency_id,
    }
    assert "locationId" not in company
    assert company["approvedLocations"] == list(sb.installed_location_ids)
    assert company["scope"].split() == list(OAUTH_APP.scopes)
    assert company["userId"] and company["isBulkInstallation"] is True

    listed = await raw.get(
        "/oauth/installedLocations",
        params={"companyId": sb.agency_id, "appId": OAUTH_APP.app_id, "isInstalled": "true",
                "skip": "1", "limit": "2"},
        headers=bearer(company["access_token"]),
    )  # fmt: skip
    assert listed.status_code == 200
    assert listed.json()["count"] == 3
    assert [loc["_id"] for loc in listed.json()["locations"]] == [LOCATION_2, LOCATION_3]
    assert all(loc["isInstalled"] and loc["name"] for loc in listed.json()["locations"])

    second = await location_tokens(raw, company, LOCATION_2)
    third = await location_tokens(raw, company, LOCATION_3)
    assert (second["userType"], second["locationId"]) == ("Location", LOCATION_2)
    assert (third["appId"], third["expires_in"]) == (OAUTH_APP.app_id, 86400)
    assert {"oauth.readonly", "oauth.write"} <= set(second["scope"].split())

    sent = {}
    for tokens, location_id in ((second, LOCATION_2), (third, LOCATION_3)):
        response = await send(raw, tokens["access_token"], reachable(sb, location_id))
        assert response.status_code == 200, response.text
        sent[location_id] = response.json()["messageId"]
    sb.advance(5)
    for location_id, message_id in sent.items():
        message = sb.message(message_id)
        assert message is not None
        assert (message["locationId"], message["status"]) == (location_id, "delivered")
        assert message["from"] == sb.engine.numbers(location_id)[0].phone

    clock.advance(DAY)  # past both expiries
    expired = await send(raw, second["access_token"], reachable(sb, LOCATION_2))
    assert expired.status_code == 401
    assert expired.json() == {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"}
    agency_expired = await raw.post(
        "/oauth/locationToken",
        data={"companyId": sb.agency_id, "locationId": LOCATION_2},
        headers=bearer(company["access_token"]),
    )
    assert agency_expired.status_code == 401

    refreshed = await token_request(
        raw, grant_type="refresh_token", refresh_token=second["refresh_token"],
        user_type="Location",
    )  # fmt: skip
    assert refreshed.status_code == 200
    renewed = refreshed.json()
    assert renewed["refresh_token"] != second["refresh_token"]
    assert renewed["access_token"] != second["access_token"]
    assert (renewed["userType"], renewed["locationId"]) == ("Location", LOCATION_2)

    reused = await token_request(
        raw, grant_type="refresh_token", refresh_token=second["refresh_token"]
    )
    assert reused.status_code == 400
    assert reused.json() == {
        "statusCode": 400,
        "message": "Invalid grant: refresh token is invalid",
    }
    again = await send(raw, renewed["access_token"], reachable(sb, LOCATION_2), "Again")
    assert again.status_code == 200

    # The agency's own pair rotates the same way and mints location tokens again.
    agency = (
        await token_request(raw, grant_type="refresh_token",
                            refresh_token=company["refresh_token"], user_type="Company")
    ).json()  # fmt: skip
    assert agency["userType"] == "Company"
    fresh = await location_tokens(raw, agency, LOCATION_3)
    assert (await send(raw, fresh["access_token"], reachable(sb, LOCATION_3))).status_code == 200
    assert sb.oauth_stats == {
        "codesRedeemed": 1,
        "refreshes": 2,
        "refreshesRefused": 1,
        "locationTokens": 3,
    }
    assert (await raw.get("/_sandbox/agency")).json()["oauthStats"] == sb.oauth_stats


async def test_a_code_for_a_sub_account_gives_a_location_token(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    code = await authorize(raw, location_id=LOCATION_3)
    response = await token_request(
        raw, grant_type="authorization_code", code=code, user_type="Location"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["userType"], body["locationId"], body["companyId"]) == (
        "Location", LOCATION_3, sb.agency_id,
    )  # fmt: skip
    assert "approvedLocations" not in body
    assert (await send(raw, body["access_token"], reachable(sb, LOCATION_3))).status_code == 200


# -- token classes and locations --------------------------------------------------------


async def test_an_agency_token_on_any_location_route_gets_user_type_mismatch(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    headers = bearer(company["access_token"])
    contact = sb.seed_ids["reachable"]
    answers = [
        await raw.get(f"/contacts/{contact}", headers=headers),
        await send(raw, company["access_token"], contact),
        await raw.get(f"/phone-system/numbers/location/{sb.location_id}", headers=headers),
        await raw.get(f"/locations/{sb.location_id}", headers=headers),
        await raw.get("/conversations/search", params={"locationId": sb.location_id},
                      headers=headers),
    ]  # fmt: skip
    for answer in answers:
        assert answer.status_code == 401
        assert answer.json() == {
            "statusCode": 401,
            "message": "Token's user type mismatch!",
            "error": "Unauthorized",
        }


async def test_location_tokens_are_refused_on_agency_routes_and_on_other_locations(
    sb: Sandbox, raw: httpx2.AsyncClient, http: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    second = await location_tokens(raw, company, LOCATION_2)
    for token in (second["access_token"], sb.token):  # an OAuth location token, a PIT
        minted = await raw.post(
            "/oauth/locationToken",
            data={"companyId": sb.agency_id, "locationId": LOCATION_2},
            headers=bearer(token),
        )
        assert minted.status_code == 401
        assert minted.json()["message"] == "Token's user type mismatch!"
    elsewhere = await raw.get(
        f"/contacts/{sb.seed_ids['reachable']}", headers=bearer(second["access_token"])
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["message"] == "The token does not have access to this location."


async def test_location_tokens_only_for_installed_locations_of_the_tokens_company(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    headers = bearer(company["access_token"])

    async def mint(company_id: str, location_id: str) -> httpx2.Response:
        return await raw.post(
            "/oauth/locationToken",
            data={"companyId": company_id, "locationId": location_id},
            headers=headers,
        )

    not_installed = await mint(sb.agency_id, NOT_INSTALLED)
    assert not_installed.status_code == 400
    other_company = await mint("someOtherCompany0001", LOCATION_2)
    assert other_company.status_code == 403
    missing = await raw.post(
        "/oauth/locationToken", data={"companyId": sb.agency_id}, headers=headers
    )
    assert missing.status_code == 422
    assert missing.json()["message"] == ["locationId should not be empty"]
    no_version = await raw.post(
        "/oauth/locationToken",
        data={"companyId": sb.agency_id, "locationId": LOCATION_2},
        headers={"Authorization": headers["Authorization"]},
    )
    assert no_version.status_code == 400
    sb.install_app(NOT_INSTALLED)
    assert (await mint(sb.agency_id, NOT_INSTALLED)).status_code == 201


async def test_the_agency_routes_need_the_oauth_scopes(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw, scope="conversations/message.write oauth.readonly")
    assert company["scope"] == "conversations/message.write oauth.readonly"
    refused = await raw.post(
        "/oauth/locationToken",
        data={"companyId": sb.agency_id, "locationId": LOCATION_2},
        headers=bearer(company["access_token"]),
    )
    assert refused.status_code == 401
    assert refused.json()["message"] == "The token is not authorized for this scope."


async def test_installed_locations_filters_pages_and_refuses_v3(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)

    async def listed(version: str = "2021-07-28", **params: str) -> httpx2.Response:
        query = {"companyId": sb.agency_id, "appId": OAUTH_APP.app_id, **params}
        return await raw.get(
            "/oauth/installedLocations",
            params=query,
            headers=bearer(company["access_token"], version),
        )

    everyone = (await listed()).json()
    assert [loc["_id"] for loc in everyone["locations"]] == list(sb.agency_location_ids)
    assert everyone["count"] == 4
    [outside] = (await listed(isInstalled="false")).json()["locations"]
    assert (outside["_id"], outside["isInstalled"]) == (NOT_INSTALLED, False)
    assert "installedAt" not in outside
    [found] = (await listed(query="realty")).json()["locations"]
    assert found["_id"] == LOCATION_3
    assert (await listed(limit="1")).json()["locations"][0]["_id"] == sb.location_id
    assert (await listed(appId="000000000000000000000000")).status_code == 404
    assert (await listed(skip="-1")).status_code == 422
    v3 = await listed("v3")
    assert v3.status_code == 400
    assert "removed in version v3" in v3.json()["message"]


# -- the token endpoint's refusals --------------------------------------------------------


async def test_the_token_endpoint_takes_a_form_not_json(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    code = await authorize(raw)
    as_json = await raw.post(
        "/oauth/token",
        json={
            "client_id": OAUTH_APP.client_id,
            "client_secret": OAUTH_APP.client_secret,
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    assert as_json.status_code == 400
    assert as_json.json() == {
        "statusCode": 400,
        "message": "Invalid request: content must be application/x-www-form-urlencoded",
    }
    # The code survived the refused request: the form then works.
    as_form = await token_request(raw, grant_type="authorization_code", code=code)
    assert as_form.status_code == 200
    company = as_form.json()
    json_mint = await raw.post(
        "/oauth/locationToken",
        json={"companyId": sb.agency_id, "locationId": LOCATION_2},
        headers=bearer(company["access_token"]),
    )
    assert json_mint.status_code == 400


async def test_codes_are_checked_first_and_work_once(raw: httpx2.AsyncClient) -> None:
    not_found = {"error": "UnAuthorized!", "error_description": "Authorization code not found"}
    bogus = await token_request(
        raw, grant_type="authorization_code", code="0" * 40, client_secret="wrong"
    )
    assert (bogus.status_code, bogus.json()) == (401, not_found)

    code = await authorize(raw)
    bad_secret = await token_request(
        raw, grant_type="authorization_code", code=code, client_secret="wrong"
    )
    assert bad_secret.status_code == 400
    assert bad_secret.json() == {"statusCode": 400, "message": "Invalid parameter: client_secret"}
    wrong_redirect = await token_request(
        raw, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:1/x"
    )
    assert wrong_redirect.json()["message"] == "Invalid parameter: redirect_uri"
    wrong_type = await token_request(
        raw, grant_type="authorization_code", code=code, user_type="Location"
    )
    assert wrong_type.json()["message"] == "Invalid parameter: user_type"
    first = await token_request(raw, grant_type="authorization_code", code=code)
    assert first.status_code == 200
    second = await token_request(raw, grant_type="authorization_code", code=code)
    assert (second.status_code, second.json()) == (401, not_found)


async def test_codes_expire_after_ten_minutes(raw: httpx2.AsyncClient, clock: FakeClock) -> None:
    code = await authorize(raw)
    clock.advance(601)
    late = await token_request(raw, grant_type="authorization_code", code=code)
    assert late.status_code == 401


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"client_id": ""}, "Missing parameter: client_id"),
        ({"client_secret": ""}, "Missing parameter: client_secret"),
        ({}, "Missing parameter: grant_type"),
        ({"grant_type": "password"}, "Invalid parameter: grant_type"),
        ({"grant_type": "client_credentials"}, "Invalid parameter: grant_type"),
        ({"grant_type": "authorization_code"}, "Missing parameter: code"),
        ({"grant_type": "refresh_token"}, "Missing parameter: refresh_token"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "nope"},
         "Invalid parameter: client_id"),
        ({"grant_type": "refresh_token", "refresh_token": "x"},
         "Invalid grant: refresh token is invalid"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "user_type": "Agency"},
         "Invalid parameter: user_type"),
    ],
)  # fmt: skip
async def test_bad_token_requests_get_400_with_the_parameter_named(
    raw: httpx2.AsyncClient, fields: dict[str, str], message: str
) -> None:
    response = await token_request(raw, **fields)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": message}


async def test_a_refresh_token_is_an_access_token_nowhere(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    as_bearer = await raw.get(
        "/oauth/installedLocations",
        params={"companyId": sb.agency_id, "appId": OAUTH_APP.app_id},
        headers=bearer(company["refresh_token"]),
    )
    assert as_bearer.status_code == 401
    as_refresh = await token_request(
        raw, grant_type="refresh_token", refresh_token=company["access_token"]
    )
    assert as_refresh.json()["message"] == "Invalid grant: refresh token is invalid"


# -- the authorize page ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"client_id": "unknown-client"}, "Unknown client_id"),
        ({"redirect_uri": "https://evil.example.com/callback"}, "not registered"),
        ({"redirect_uri": "http://127.0.0.1:99999/callback"}, "not registered"),
        ({"response_type": "token"}, "response_type"),
        ({"scope": "contacts.readonly users.write"}, "users.write"),
        ({"location_id": "sandboxDemoLocation4"}, "not installed"),
    ],
)
async def test_the_authorize_page_never_redirects_a_bad_request(
    raw: httpx2.AsyncClient, override: dict[str, str], words: str
) -> None:
    response = await raw.get(
        "/v2/oauth/chooselocation", params={**_authorize_params(approve="1"), **override}
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert words in response.text


async def test_the_registered_redirect_keeps_its_own_query(raw: httpx2.AsyncClient) -> None:
    response = await raw.get(
        "/oauth/chooselocation",
        params=_authorize_params(redirect_uri="http://localhost:8080/cb?x=1", auto="1"),
    )
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == ("localhost:8080", "/cb")
    assert set(parse_qs(target.query)) == {"x", "code"}


# -- rate limits --------------------------------------------------------------------------


async def test_one_bucket_per_app_per_location_and_one_for_the_agency(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    first = await location_tokens(raw, company, LOCATION_2)
    second = await location_tokens(raw, company, LOCATION_2)  # same app, same location
    other = await location_tokens(raw, company, LOCATION_3)
    sb.set_rate_limits(burst=2)  # (also empties every bucket)
    contact = reachable(sb, LOCATION_2)

    async def get(token: str, contact_id: str) -> int:
        return (await raw.get(f"/contacts/{contact_id}", headers=bearer(token))).status_code

    shared = [
        await get(first["access_token"], contact),
        await get(second["access_token"], contact),
        await get(first["access_token"], contact),
        await get(second["access_token"], contact),
    ]
    assert shared == [200, 200, 429, 429]
    assert await get(other["access_token"], reachable(sb, LOCATION_3)) == 200
    assert await get(sb.token, sb.seed_ids["reachable"]) == 200  # a PIT: its own bucket
    agency = await raw.get(
        "/oauth/installedLocations",
        params={"companyId": sb.agency_id, "appId": OAUTH_APP.app_id},
        headers=bearer(company["access_token"]),
    )
    assert agency.status_code == 200
    assert agency.headers["x-ratelimit-remaining"] == "1"


# -- controls and persistence -------------------------------------------------------------


async def test_controls_show_the_app_and_the_agency_and_add_sub_accounts(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    app = (await raw.get("/_sandbox/oauth-app")).json()
    assert (app["clientId"], app["clientSecret"], app["appId"]) == (
        OAUTH_APP.client_id, OAUTH_APP.client_secret, OAUTH_APP.app_id,
    )  # fmt: skip
    assert app["authorizeUrl"].startswith(f"{sb.base_url}/oauth/chooselocation?")
    agency = (await raw.get("/_sandbox/agency")).json()
    assert agency["company"]["name"] == "Sandbox Agency (demo)"
    by_id = {loc["id"]: loc for loc in agency["locations"]}
    assert list(by_id) == list(sb.agency_location_ids)
    assert [loc["appInstalled"] for loc in by_id.values()] == [True, True, True, False]
    assert len(by_id[LOCATION_2]["contacts"]) == 3
    assert by_id[LOCATION_2]["numbers"][0] == {
        "phoneNumber": "+13125550190",
        "isDefaultNumber": True,
    }

    made = await raw.post(
        "/_sandbox/agency/locations", json={"name": "Branch 5", "numbers": ["+14045550190"]}
    )
    assert made.status_code == 201
    new_id = made.json()["location"]["id"]
    company = await company_tokens(raw)
    assert new_id in company["approvedLocations"]
    minted = await location_tokens(raw, company, new_id)
    assert minted["locationId"] == new_id
    removed = await raw.post(
        "/_sandbox/agency/installs", json={"locationId": new_id, "installed": False}
    )
    assert {loc["id"]: loc["appInstalled"] for loc in removed.json()["locations"]}[new_id] is False


async def test_python_helpers_make_agency_sub_accounts(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    new_id = sb.create_location(name="Branch 6", numbers=["+14045550190"], agency=True)
    company = await company_tokens(raw)
    assert company["approvedLocations"][-1] == new_id
    plain = sb.create_location(name="Not an agency's")
    assert plain not in (await company_tokens(raw))["approvedLocations"]


def test_a_sandbox_file_seeded_before_agencies_gets_the_agency(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Sandbox(db_path=path, seed=False) as sb:
        seed_demo_location_only(sb.engine)  # what an older sandbox seeded
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM locations").fetchone() == (1,)
    conn.close()
    with Sandbox(db_path=path) as sb:
        agency = sb.engine.oauth.store.company_locations(sb.agency_id)
        assert [loc["id"] for loc in agency] == list(sb.agency_location_ids)
        assert sb.contact(sb.seed_ids["reachable"]) is not None
    with Sandbox(db_path=path) as sb:  # seeding again changes nothing
        assert len(sb.engine.store.list_locations()) == len(sb.agency_location_ids)


async def test_reset_reseeds_the_agency_and_forgets_its_tokens(
    sb: Sandbox, raw: httpx2.AsyncClient
) -> None:
    company = await company_tokens(raw)
    sb.reset()
    gone = await raw.get(
        "/oauth/installedLocations",
        params={"companyId": sb.agency_id, "appId": OAUTH_APP.app_id},
        headers=bearer(company["access_token"]),
    )
    assert gone.status_code == 401
    assert (await company_tokens(raw))["approvedLocations"] == list(sb.installed_location_ids)


async def test_over_loopback_http_the_flow_needs_no_browser() -> None:
    # What `ghl-sms login --sandbox` does: the authorize URL with approve=1, the 302's code,
    # then the form-encoded exchanges, all over a real socket (uvicorn parses the forms).
    async with Sandbox() as sb:
        ready = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: sb.serve(port=0, on_ready=lambda _url: ready.set()))
            with anyio.fail_after(10):
                await ready.wait()
            async with httpx2.AsyncClient(base_url=sb.base_url) as http:
                code = await authorize(http)
                company = (
                    await token_request(http, grant_type="authorization_code", code=code)
                ).json()
                second = await location_tokens(http, company, LOCATION_2)
                sent = await send(http, second["access_token"], reachable(sb, LOCATION_2))
            sb.stop()
    assert company["userType"] == "Company"
    assert sent.status_code == 200
