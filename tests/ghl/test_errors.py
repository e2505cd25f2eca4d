"""From GHL's answers and transport failures to our error tree."""

from __future__ import annotations

import httpx2
import pytest

from ghl_sms.ghl import (
    AuthenticationError,
    GhlError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    RetryPolicy,
    SendOutcomeUnknownError,
    ServerError,
    TransportError,
)
from ghl_sms.ghl._errors import ApiError, error_for_status
from support.ghl_mock import Recorder, make_client


@pytest.mark.parametrize(
    ("status", "body", "cls", "messages"),
    [
        (400, {"statusCode": 400, "message": "Cannot send message as DND is active for SMS."},
         InvalidRequestError, ["Cannot send message as DND is active for SMS."]),
        (400, {"statusCode": 400, "message": "Missing phone number"},
         InvalidRequestError, ["Missing phone number"]),
        (422, {"statusCode": 422, "message": ["type must be a valid enum value",
                                              "property conversationId should not exist"],
               "error": "Unprocessable Entity"},
         InvalidRequestError, ["type must be a valid enum value",
                               "property conversationId should not exist"]),
        (401, {"statusCode": 401, "message": "The token is not authorized for this scope."},
         AuthenticationError, ["The token is not authorized for this scope."]),
        (403, {"statusCode": 403, "message": "The token does not have access to this location."},
         PermissionDeniedError, ["The token does not have access to this location."]),
        (404, {"statusCode": 404, "message": "Contact not found"}, NotFoundError,
         ["Contact not found"]),
        (413, {"status": 413, "message": "Failed to upload the files"}, InvalidRequestError,
         ["Failed to upload the files"]),
    ],
)  # fmt: skip
@pytest.mark.anyio
async def test_error_statuses_map_to_types_with_ghl_messages_verbatim(
    recorder: Recorder, status: int, body: object, cls: type[ApiError], messages: list[str]
) -> None:
    recorder.answers.append(httpx2.Response(status, json=body))
    with pytest.raises(GhlError) as info:
        await make_client(recorder).get_contact("ct1")
    error = info.value
    assert type(error) is cls
    assert (error.status_code, error.method, error.path) == (status, "GET", "/contacts/ct1")
    assert error.messages == messages
    assert error.retryable is False
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_the_trace_id_travels_with_the_error(recorder: Recorder) -> None:
    recorder.answers.append(
        httpx2.Response(400, json={"message": "Bad Request", "traceId": "abc-123"})
    )
    with pytest.raises(InvalidRequestError) as info:
        await make_client(recorder).get_contact("ct1")
    assert info.value.trace_id == "abc-123"
    assert str(info.value) == "Bad Request (GET /contacts/ct1) [trace abc-123]"


@pytest.mark.anyio
async def test_a_non_json_error_body_still_gives_a_typed_error(recorder: Recorder) -> None:
    recorder.answers += [httpx2.Response(502, text="Bad gateway")] * 4
    with pytest.raises(ServerError) as info:
        await make_client(recorder).get_contact("ct1")
    assert info.value.messages == ["Bad gateway"]
    assert info.value.retryable is True


def test_every_status_maps_to_an_api_error_subclass() -> None:
    for status in range(400, 600):
        assert issubclass(error_for_status(status), ApiError)
    assert error_for_status(429) is RateLimitError
    assert error_for_status(503) is ServerError


@pytest.mark.parametrize(
    ("exc", "cls", "reached"),
    [
        (httpx2.ConnectError("refused"), TransportError, False),
        (httpx2.ConnectTimeout("slow connect"), RequestTimeout, False),
        (httpx2.PoolTimeout("pool"), RequestTimeout, False),
        (httpx2.ReadTimeout("slow read"), RequestTimeout, True),
        (httpx2.WriteTimeout("slow write"), RequestTimeout, True),
        (httpx2.RemoteProtocolError("hung up"), TransportError, True),
        (httpx2.ReadError("reset"), TransportError, True),
    ],
)
@pytest.mark.anyio
async def test_transport_failures_say_whether_the_request_may_have_arrived(
    recorder: Recorder, exc: Exception, cls: type[TransportError], reached: bool
) -> None:
    recorder.answers += [exc] * 4
    client = make_client(recorder)
    client._retry = RetryPolicy(max_retries=0)
    with pytest.raises(TransportError) as info:
        await client.get_contact("ct1")
    assert type(info.value) is cls
    assert info.value.reached_server is reached
    assert info.value.__cause__ is None  # the httpx2 request (with its headers) stays behind


@pytest.mark.parametrize(
    "failure",
    [
        httpx2.ReadTimeout("slow read"),
        httpx2.RemoteProtocolError("Server disconnected without sending a response."),
        httpx2.WriteError("broken pipe"),
        httpx2.Response(500, json={"statusCode": 500, "message": "Internal server error"}),
        httpx2.Response(503, text="unavailable"),
    ],
)
@pytest.mark.anyio
async def test_a_send_that_may_have_reached_ghl_is_marked_may_have_been_sent(
    recorder: Recorder, failure: Exception | httpx2.Response
) -> None:
    recorder.answers.append(failure)
    with pytest.raises(SendOutcomeUnknownError) as info:
        await make_client(recorder).send_message(contact_id="c", message="hi")
    assert info.value.may_have_been_sent is True
    assert info.value.retryable is False
    assert len(recorder.requests) == 1  # never resent blindly


@pytest.mark.anyio
async def test_a_refused_send_is_a_plain_failure_that_provably_sent_nothing(
    recorder: Recorder,
) -> None:
    recorder.answers += [httpx2.ConnectError("refused")] * 4
    with pytest.raises(TransportError) as info:
        await make_client(recorder).send_message(contact_id="c", message="hi")
    assert not isinstance(info.value, SendOutcomeUnknownError)
    assert info.value.reached_server is False
    assert info.value.may_have_been_sent is False
    assert len(recorder.requests) == 4  # retried, since nothing left the machine


@pytest.mark.anyio
async def test_a_rejected_send_is_not_marked_may_have_been_sent(recorder: Recorder) -> None:
    recorder.answers.append(httpx2.Response(400, json={"message": "Missing phone number"}))
    with pytest.raises(InvalidRequestError) as info:
        await make_client(recorder).send_message(contact_id="c", message="hi")
    assert info.value.may_have_been_sent is False
