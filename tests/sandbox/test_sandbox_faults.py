from typing import Any

import anyio
import httpx2
import pytest

from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def body(sb: Sandbox) -> dict[str, Any]:
    return {"type": "SMS", "contactId": sb.seed_ids["reachable"], "message": "Hi"}


async def test_a_500_fault_answers_before_anything_is_stored(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("500")
    failed = await http.post("/conversations/messages", json=body(sb))
    ok = await http.post("/conversations/messages", json=body(sb))
    assert failed.status_code == 500
    assert failed.json() == {"statusCode": 500, "message": "Internal server error"}
    assert ok.status_code == 200
    assert sb.state()["counts"]["messages"] == 1


async def test_a_500_after_fault_stores_the_send_then_fails(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("500_after")
    assert (await http.post("/conversations/messages", json=body(sb))).status_code == 500
    assert sb.state()["counts"]["messages"] == 1


async def test_a_429_fault_carries_rate_limit_headers(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("429", count=2)
    codes = [
        (await http.get(f"/contacts/{sb.seed_ids['reachable']}")).status_code for _ in range(3)
    ]
    assert codes == [429, 429, 200]


async def test_a_drop_raises_a_protocol_error_after_the_message_was_stored(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("drop", path="/conversations/messages", method="POST")
    with pytest.raises(httpx2.RemoteProtocolError):
        await http.post("/conversations/messages", json=body(sb))
    assert sb.state()["counts"]["messages"] == 1
    assert [e["status"] for e in sb.webhook_events] == ["pending"]


async def test_a_hang_raises_a_read_timeout_after_the_message_was_stored(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("hang")
    with pytest.raises(httpx2.ReadTimeout):
        await http.post("/conversations/messages", json=body(sb))
    assert sb.state()["counts"]["messages"] == 1


async def test_faults_only_hit_matching_requests_and_never_sandbox_controls(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    sb.inject_fault("500", path="/conversations/messages", method="POST")
    control = await http.get("/_sandbox/state")
    read = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert (control.status_code, read.status_code) == (200, 200)
    assert control.json()["faults"] == [
        {"kind": "500", "remaining": 1, "path": "/conversations/messages", "method": "POST"}
    ]
    assert (await http.post("/conversations/messages", json=body(sb))).status_code == 500
    sb.inject_fault("500", count=5)
    sb.clear_faults()
    assert (await http.post("/conversations/messages", json=body(sb))).status_code == 200


def test_an_unknown_fault_kind_is_refused(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sb.inject_fault("teapot")  # type: ignore[arg-type]


async def test_over_a_real_socket_a_drop_breaks_the_connection_after_storing() -> None:
    # The one test that binds a port: it checks what uvicorn does with a short body.
    async with Sandbox() as sb:
        ready = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: sb.serve(port=0, on_ready=lambda _url: ready.set()))
            with anyio.fail_after(10):
                await ready.wait()
            headers = {"Authorization": f"Bearer {sb.token}", "Version": "2021-04-15"}
            async with httpx2.AsyncClient(base_url=sb.base_url, headers=headers) as http:
                sb.inject_fault("drop")
                with pytest.raises(httpx2.RemoteProtocolError):
                    await http.post("/conversations/messages", json=body(sb))
                sb.inject_fault("hang")
                with pytest.raises(httpx2.ReadTimeout):
                    await http.post("/conversations/messages", json=body(sb), timeout=0.5)
                after = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
            sb.stop()
        assert after.status_code == 200
        assert sb.state()["counts"]["messages"] == 2


@pytest.mark.anyio
async def test_a_caller_that_disconnects_mid_request_changes_nothing_and_logs_no_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ghl_sms._clock import FakeClock
    from ghl_sms.sandbox import Sandbox

    sb = Sandbox(clock=FakeClock())
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/conversations/messages",
        "raw_path": b"/conversations/messages", "query_string": b"", "root_path": "",
        "headers": [(b"authorization", f"Bearer {sb.token}".encode()),
                    (b"version", b"2021-04-15"), (b"content-type", b"application/json")],
        "scheme": "http", "server": ("test", 80), "client": ("test", 1234),
        "http_version": "1.1", "asgi": {"version": "3.0"},
    }  # fmt: skip
    await sb.app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert sb.store.count_messages() == 0
    assert not [r for r in caplog.records if r.exc_info]
