"""The token never appears in an error, a repr or a log line."""

from __future__ import annotations

import logging
import traceback

import httpx2
import pytest

from ghl_sms.ghl import GhlClient, GhlError
from support.ghl_mock import Recorder, make_client

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
