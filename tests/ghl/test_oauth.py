"""The OAuth client: form-encoded bodies, GHL's fields, no secret in any error; and the
API client with a token that changes (a token provider, renewed once on an expired 401)."""

from __future__ import annotations

import random
import traceback
from urllib.parse import parse_qs

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import (
    AuthenticationError,
    ConfigError,
    GhlClient,
    GhlError,
    OAuthClient,
    TransportError,
    authorize_url,
)
from support.ghl_mock import Recorder, spec_properties

SECRET = "client-SECRET-canary-8c1e"
CODE = "code-CANARY-1b2c3d"
REFRESH = "refresh-CANARY-9f8e7d"
ACCESS = "access-CANARY-a1b2c3"

GRANT = {
    "access_token": ACCESS,
    "token_type": "Bearer",
    "expires_in": 86399,
    "refresh_token": "refresh-NEW-CANARY-77",
    "scope": "conversations/message.write oauth.write",
    "userType": "Company",
    "companyId": "comp1",
    "approvedLocations": ["locA", "locB"],
    "userId": "user1",
}


def oauth(recorder: Recorder) -> OAuthClient:
    return OAuthClient(
        client_id="app-client-id",
        client_secret=SECRET,
        base_url="https://ghl.test",
        transport=httpx2.MockTransport(recorder),
        clock=FakeClock(),
        rng=random.Random(0),
    )


def form(request: httpx2.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def rendered(error: BaseException) -> str:
    parts = [str(error), repr(error), *getattr(error, "messages", [])]
    return "\n".join([*parts, "".join(traceback.format_exception(error))])


@pytest.mark.anyio
async def test_exchange_code_posts_a_form_with_ghls_fields(recorder: Recorder) -> None:
    recorder.answers.append(httpx2.Response(200, json=GRANT))
    grant = await oauth(recorder).exchange_code(CODE, "http://127.0.0.1:5000/callback")
    request = recorder.last
    assert request.method == "POST" and request.url.path == "/oauth/token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    sent = form(request)
    assert sent == {
        "client_id": "app-client-id",
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "code": CODE,
        "user_type": "Company",
        "redirect_uri": "http://127.0.0.1:5000/callback",
    }
    assert set(sent) <= spec_properties("oauth.json", "GetAccessCodebodyDto")
    assert grant.company_id == "comp1" and grant.approved_locations == ["locA", "locB"]
    assert grant.user_type == "Company" and grant.expires_in == 86399
    assert ACCESS not in repr(grant) and "refresh-NEW" not in repr(grant)


@pytest.mark.anyio
async def test_refresh_sends_the_refresh_token_and_is_never_repeated_after_a_timeout(
    recorder: Recorder,
) -> None:
    recorder.answers.append(httpx2.ReadTimeout(f"timed out with {REFRESH}"))
    with pytest.raises(TransportError) as info:
        await oauth(recorder).refresh(REFRESH)
    # The request may have burned the refresh token: a second try would be refused.
    assert len(recorder.requests) == 1
    assert form(recorder.last)["grant_type"] == "refresh_token"
    assert form(recorder.last)["refresh_token"] == REFRESH
    assert REFRESH not in rendered(info.value)


@pytest.mark.anyio
async def test_a_refresh_refused_with_429_is_repeated(recorder: Recorder) -> None:
    recorder.answers += [httpx2.Response(429), httpx2.Response(200, json=GRANT)]
    grant = await oauth(recorder).refresh(REFRESH)
    assert grant.refresh_token == "refresh-NEW-CANARY-77" and len(recorder.requests) == 2


@pytest.mark.anyio
async def test_location_token_uses_the_agency_token_and_the_version_header(
    recorder: Recorder,
) -> None:
    recorder.answers.append(
        httpx2.Response(
            200,
            json={"access_token": "loc-token-1", "expires_in": 86399, "locationId": "locA"},
        )
    )
    token = await oauth(recorder).location_token(ACCESS, "comp1", "locA")
    request = recorder.last
    assert request.url.path == "/oauth/locationToken"
    assert request.headers["authorization"] == f"Bearer {ACCESS}"
    assert request.headers["version"] == "2021-07-28"
    assert form(request) == {"companyId": "comp1", "locationId": "locA"}
    assert token.access_token == "loc-token-1" and token.location_id == "locA"


@pytest.mark.anyio
async def test_installed_locations_pages_with_skip_and_limit(recorder: Recorder) -> None:
    recorder.answers.append(
        httpx2.Response(
            200,
            json={
                "locations": [{"_id": "locA", "name": "Downtown", "address": "1 Main St"}],
                "count": 1,
            },
        )
    )
    page = await oauth(recorder).installed_locations(
        ACCESS, "comp1", "app1", skip=20, limit=10, query="Down"
    )
    params = dict(recorder.last.url.params)
    assert params == {
        "companyId": "comp1",
        "appId": "app1",
        "isInstalled": "true",
        "skip": "20",
        "limit": "10",
        "query": "Down",
    }
    assert [(loc.id, loc.name) for loc in page.locations] == [("locA", "Downtown")]


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(400, json={"error": "invalid_grant", "error_description": f"bad {CODE}"}),
        httpx2.Response(401, json={"message": f"Invalid client secret {SECRET.upper()}"}),
        httpx2.Response(422, json={"message": [f"code {CODE} expired"]}),
        httpx2.Response(500, text=f"crash {SECRET}"),
        httpx2.Response(200, json={"no": SECRET}),
    ],
    ids=lambda r: str(r.status_code),
)
@pytest.mark.anyio
async def test_no_secret_or_code_in_any_error(recorder: Recorder, answer: httpx2.Response) -> None:
    recorder.answers += [answer] * 5
    with pytest.raises(GhlError) as info:
        await oauth(recorder).exchange_code(CODE, "http://127.0.0.1/cb")
    text = rendered(info.value)
    assert SECRET not in text and SECRET.upper() not in text and CODE not in text


def test_the_oauth_client_repr_hides_the_secret() -> None:
    client = OAuthClient(client_id="id", client_secret=SECRET)
    assert SECRET not in repr(client)
    with pytest.raises(ConfigError):
        OAuthClient(client_id="id", client_secret=" ")


def test_authorize_url_carries_the_code_flow_parameters() -> None:
    url = httpx2.URL(
        authorize_url(
            client_id="cid",
            redirect_uri="http://127.0.0.1:5555/callback",
            scopes=["conversations/message.write", "contacts.readonly"],
        )
    )
    assert url.host == "marketplace.gohighlevel.com"
    assert dict(url.params) == {
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:5555/callback",
        "client_id": "cid",
        "scope": "conversations/message.write contacts.readonly",
    }


# --- the API client with a token provider ---------------------------------------------


class Rotating:
    def __init__(self) -> None:
        self.issued = 0
        self.refused: list[str | None] = []

    async def __call__(self, *, invalid: str | None = None) -> str:
        if invalid is not None:
            self.refused.append(invalid)
            self.issued += 1
        return f"loc-token-{self.issued}"


def provider_client(recorder: Recorder, provider: Rotating) -> GhlClient:
    return GhlClient(
        token_provider=provider,
        location_id="loc123",
        base_url="https://ghl.test",
        transport=httpx2.MockTransport(recorder),
        clock=FakeClock(),
        rng=random.Random(0),
    )


CONTACT = {"contact": {"id": "c1", "locationId": "loc123"}}


@pytest.mark.anyio
async def test_each_request_carries_the_providers_current_token(recorder: Recorder) -> None:
    provider = Rotating()
    recorder.default = httpx2.Response(200, json=CONTACT)
    client = provider_client(recorder, provider)
    await client.get_contact("c1")
    provider.issued = 5
    await client.get_contact("c1")
    tokens = [r.headers["authorization"] for r in recorder.requests]
    assert tokens == ["Bearer loc-token-0", "Bearer loc-token-5"]


@pytest.mark.anyio
async def test_an_expired_token_is_renewed_once_and_a_send_goes_through(
    recorder: Recorder,
) -> None:
    provider = Rotating()
    recorder.answers += [
        httpx2.Response(401, json={"statusCode": 401, "message": "Invalid JWT"}),
        httpx2.Response(201, json={"conversationId": "cv1", "messageId": "m1"}),
    ]
    sent = await provider_client(recorder, provider).send_message(contact_id="c", message="hi")
    assert sent.message_id == "m1"
    assert provider.refused == ["loc-token-0"]
    assert recorder.requests[1].headers["authorization"] == "Bearer loc-token-1"


@pytest.mark.anyio
async def test_a_second_expired_answer_is_an_error_not_a_loop(recorder: Recorder) -> None:
    provider = Rotating()
    recorder.default = httpx2.Response(401, json={"message": "Invalid token: access token"})
    with pytest.raises(AuthenticationError):
        await provider_client(recorder, provider).get_contact("c1")
    assert len(recorder.requests) == 2 and provider.refused == ["loc-token-0"]


@pytest.mark.parametrize(
    "message", ["The token is not authorized for this scope.", "Token's user type mismatch!"]
)
@pytest.mark.anyio
async def test_a_scope_or_token_class_401_is_not_cured_by_a_new_token(
    recorder: Recorder, message: str
) -> None:
    provider = Rotating()
    recorder.default = httpx2.Response(401, json={"message": message})
    with pytest.raises(AuthenticationError):
        await provider_client(recorder, provider).get_contact("c1")
    assert len(recorder.requests) == 1 and provider.refused == []


@pytest.mark.anyio
async def test_a_provided_token_echoed_back_is_redacted(recorder: Recorder) -> None:
    class Canary(Rotating):
        async def __call__(self, *, invalid: str | None = None) -> str:
            return "loc-CANARY-token-42"

    recorder.default = httpx2.Response(400, json={"message": "bad loc-canary-token-42"})
    with pytest.raises(GhlError) as info:
        await provider_client(recorder, Canary()).get_contact("c1")
    assert "canary-token-42" not in rendered(info.value).lower()


def test_a_token_and_a_provider_together_are_refused() -> None:
    with pytest.raises(ConfigError):
        GhlClient(token="pit-x", token_provider=Rotating(), location_id="l")
