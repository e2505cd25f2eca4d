"""The token never appears in an error, a repr or a log line."""

from __future__ import annotations

import logging
import traceback

import httpx2
import pytest

from ghl_sms.ghl import ConfigError, GhlClient, GhlError
from ghl_sms.ops.service import SendRequest
from support.ghl_mock import Recorder, make_client
from support.stack import stack

CANARY = "pit-CANARY-5f1d2c9e-7b4a-4e8d-9c3b-0a1b2c3d4e5f"

FAILURES: list[Exception | httpx2.Response] = [
    httpx2.Response(400, json={"statusCode": 400, "message": "Cannot send message"}),
    httpx2.Response(401, json={"statusCode": 401, "message": f"Invalid token {CANARY}"}),
    httpx2.Response(403, json={"message": "The token does not have access to this location."}),
    httpx2.Response(404, text=f"no route for Bearer {CANARY}"),
    httpx2.Response(422, json={"message": [f"token {CANARY} should not exist"]}),
    httpx2.Response(429, headers={"x-ratelimit-daily-remaining": "0"}),
    httpx2.Response(500, json={"message": "Internal server error"}),
    httpx2.Response(200, content=b"not json"),
    httpx2.Response(200, json={"unexpected": CANARY}),
    httpx2.ConnectError(f"refused while sending Authorization: Bearer {CANARY}"),
    httpx2.ReadTimeout("timed out"),
    httpx2.RemoteProtocolError("Server disconnected without sending a response."),
]


def rendered(error: BaseException) -> str:
    parts = [str(error), repr(error), *getattr(error, "messages", [])]
    parts.append("".join(traceback.format_exception(error)))
    return "\n".join(parts)


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: repr(f)[:40])
@pytest.mark.parametrize("operation", ["send", "read"])
@pytest.mark.anyio
async def test_the_token_never_leaks_from_any_error_path(
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
    failure: Exception | httpx2.Response,
    operation: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.answers += [failure] * 5
    client = make_client(recorder, token=CANARY)
    with pytest.raises(GhlError) as info:
        if operation == "send":
            await client.send_message(contact_id="c", message="hi")
        else:
            await client.get_contact("c")
    assert CANARY not in rendered(info.value)
    assert all(CANARY not in record.getMessage() for record in caplog.records)
    assert recorder.requests[0].headers["authorization"] == f"Bearer {CANARY}"


def test_the_client_repr_hides_the_token() -> None:
    client = GhlClient(token=CANARY, location_id="loc1")
    assert CANARY not in repr(client) and CANARY not in str(client)


def _variants(token: str) -> list[str]:
    return [token, token.lower(), token.upper(), token.swapcase(), token.removeprefix("pit-")]


ECHOES: list[httpx2.Response] = [
    httpx2.Response(401, json={"message": f"Invalid token {CANARY.lower()}"}),
    httpx2.Response(422, json={"message": [f"Bearer {CANARY.upper()} is not welcome"]}),
    httpx2.Response(400, json={"message": "bad", "traceId": f"trace-{CANARY.swapcase()}"}),
    httpx2.Response(404, text=f"no route for {CANARY.removeprefix('pit-')}"),
    httpx2.Response(403, json={"error": f"token={CANARY.title()}"}),
]


@pytest.mark.parametrize("answer", ECHOES, ids=lambda r: str(r.status_code))
@pytest.mark.anyio
async def test_an_echo_of_the_token_in_any_case_or_without_its_prefix_is_redacted(
    recorder: Recorder, answer: httpx2.Response
) -> None:
    recorder.answers += [answer] * 5
    client = make_client(recorder, token=CANARY)
    with pytest.raises(GhlError) as info:
        await client.get_contact("c")
    text = rendered(info.value) + f"\n{info.value.trace_id}"
    assert all(v.lower() not in text.lower() for v in _variants(CANARY))
    assert "[REDACTED]" in text


@pytest.mark.parametrize("token", [f"{CANARY}\nX-Evil: 1", f"pit-abc {CANARY}", "pit-\x00abc"])
def test_a_token_with_whitespace_or_control_characters_is_refused_without_echoing_it(
    token: str,
) -> None:
    with pytest.raises(ConfigError) as info:
        GhlClient(token=token, location_id="loc1")
    assert CANARY not in rendered(info.value) and "abc" not in str(info.value)


class EchoingSends(httpx2.AsyncBaseTransport):
    """The sandbox, except that a send is refused with GHL's text echoing the token."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, token: str) -> None:
        self.inner, self.token = inner, token

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/conversations/messages"):
            return httpx2.Response(
                422,
                json={"message": [f"bearer {self.token.lower()} may not send"],
                      "traceId": f"t-{self.token.upper()}"},
            )  # fmt: skip
        return await self.inner.handle_async_request(request)


@pytest.mark.anyio
async def test_error_texts_stored_in_the_ledger_never_hold_the_token() -> None:
    async with stack() as s:
        token = s.sandbox.token
        s.client._http._transport = EchoingSends(s.sandbox.transport(), token)
        with pytest.raises(GhlError) as info:
            await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Hi"))
        assert token.lower() not in rendered(info.value).lower()
        stored = s.ledger.db.execute("SELECT error_message FROM sends").fetchall()
        assert stored and all(token.lower() not in (row[0] or "").lower() for row in stored)
        assert "[REDACTED]" in stored[0][0]
