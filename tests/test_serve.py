"""The shared HTTP serving (ghl_sms._serve) over real loopback sockets: binding errors,
and the bounds on slow and numerous clients. Bounds are tiny here; nothing sleeps to wait
for an outcome: each test waits on its socket, under a deadline far above the bound."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import SocketStream
from starlette.types import Receive, Scope, Send

from ghl_sms._serve import HttpServer, ListenError, ServeLimits, listen

pytestmark = pytest.mark.anyio

BOUND = 0.2
LIMITS = ServeLimits(header_timeout=BOUND, body_timeout=BOUND, max_connections=3)
# Far above BOUND: a guard that works answers well within it; one that doesn't, never.
PATIENCE = 5.0

received_bodies: list[bytes] = []


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, answers with its length; ``/hold`` waits for ``release``."""
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    received_bodies.append(body)
    if scope["path"] == "/hold":
        await release.wait()
    answer = str(len(body)).encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


release = anyio.Event()


@pytest.fixture(params=["h11", "httptools"])
def http(request: pytest.FixtureRequest) -> str:
    global release
    release = anyio.Event()
    received_bodies.clear()
    return str(request.param)


@asynccontextmanager
async def served(http: str, limits: ServeLimits = LIMITS) -> AsyncIterator[tuple[str, int]]:
    sock = listen("127.0.0.1", 0)
    server = HttpServer(echo, sock, limits=limits, log_config=None, http=http)
    ready = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, lambda _url: ready.set())
        with anyio.fail_after(PATIENCE):
            await ready.wait()
        yield sock.getsockname()[:2]
        release.set()
        tg.cancel_scope.cancel()


async def read_to_end(stream: SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with anyio.fail_after(PATIENCE):
        try:
            while True:
                data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return data


async def read_response(stream: SocketStream) -> bytes:
    """One response with a content-length, leaving the connection open."""
    data = b""
    with anyio.fail_after(PATIENCE):
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += await stream.receive()
    return head + b"\r\n\r\n" + body


def request(path: str = "/", body: bytes = b"") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )


async def test_a_request_in_time_is_answered(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        await client.send(request(body=b"hello"))
        assert (await read_response(client)).endswith(b"\r\n\r\n5")


async def test_headers_that_stop_coming_get_408_within_the_bound(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        await client.send(b"POST / HTTP/1.1\r\nHost: test\r\n")  # ...and nothing more
        started = anyio.current_time()
        answer = await read_to_end(client)
        took = anyio.current_time() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert BOUND * 0.5 < took < BOUND * 5
    assert received_bodies == []


async def test_headers_trickling_in_do_not_restart_the_clock(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        answer = b""
        async with anyio.create_task_group() as tg:

            async def trickle() -> None:
                with pytest.raises((anyio.BrokenResourceError, anyio.ClosedResourceError)):
                    for _ in range(1000):  # one header byte every tenth of the bound
                        await client.send(b"x")
                        await anyio.sleep(BOUND / 10)  # pacing the slow client, not waiting

            await client.send(b"POST / HTTP/1.1\r\nHost: test\r\nX-Slow: ")
            tg.start_soon(trickle)
            answer = await read_to_end(client)
            tg.cancel_scope.cancel()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_fresh_connection_that_sends_nothing_is_closed_quietly(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        assert await read_to_end(client) == b""


async def test_the_header_clock_restarts_after_each_response(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        await client.send(request(body=b"one"))
        assert (await read_response(client)).endswith(b"\r\n\r\n3")
        await client.send(b"POST / HTTP/1.1\r\n")  # the next request stalls
        assert (await read_to_end(client)).startswith(b"HTTP/1.1 408 ")


async def test_a_body_sent_too_slowly_gets_408_and_never_reaches_the_app(http: str) -> None:
    async with served(http) as (host, port), await anyio.connect_tcp(host, port) as client:
        await client.send(request(body=b"0123456789")[:-7])  # 3 of 10 bytes, then silence
        answer = await read_to_end(client)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()
    assert received_bodies == []


async def test_a_request_being_answered_is_not_cut_by_the_header_clock(http: str) -> None:
    async with served(http) as (host, port):
        async with await anyio.connect_tcp(host, port) as held:
            await held.send(request("/hold"))
            # A second, stalled client proves the bound has passed meanwhile.
            async with await anyio.connect_tcp(host, port) as stalled:
                await stalled.send(b"GET / HTTP/1.1\r\n")
                assert (await read_to_end(stalled)).startswith(b"HTTP/1.1 408 ")
            release.set()
            assert (await read_response(held)).startswith(b"HTTP/1.1 200 ")


async def test_connections_beyond_the_limit_get_503_and_the_rest_are_served(http: str) -> None:
    limit = LIMITS.max_connections
    async with served(http) as (host, port):
        idle = [await anyio.connect_tcp(host, port) for _ in range(limit)]
        excess = [await anyio.connect_tcp(host, port) for _ in range(limit + 1)]
        for client in excess:
            answer = await read_to_end(client)
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            await client.aclose()
        # The first ones were within the limit: still open, served when they ask.
        await idle[0].send(request(body=b"ok"))
        assert (await read_response(idle[0])).startswith(b"HTTP/1.1 200 ")
        # Idle ones are then closed by the header bound, freeing their places.
        for client in idle:
            assert not (await read_to_end(client)).startswith(b"HTTP/1.1 503")
            await client.aclose()
        async with await anyio.connect_tcp(host, port) as later:
            await later.send(request(body=b"again"))
            assert (await read_response(later)).startswith(b"HTTP/1.1 200 ")


async def test_a_flood_of_slow_bodies_holds_at_most_the_limit_and_each_for_the_bound(
    http: str,
) -> None:
    """The issue's report, scaled down: many clients each send headers and a body start,
    then stall. The first ``max_connections`` get 408 after the body bound, the rest 503
    at once; nothing reaches the app."""
    limits = ServeLimits(header_timeout=1.0, body_timeout=1.0, max_connections=20)
    answers: list[bytes] = []
    async with served(http, limits) as (host, port):
        clients = []
        for _ in range(60):
            client = await anyio.connect_tcp(host, port)
            await client.send(request(body=b"x" * 100)[:-90])
            clients.append(client)
        async with anyio.create_task_group() as tg:

            async def read(client: SocketStream) -> None:
                answers.append((await read_to_end(client))[:12])
                await client.aclose()

            for client in clients:
                tg.start_soon(read, client)
    assert answers.count(b"HTTP/1.1 408") == 20
    assert answers.count(b"HTTP/1.1 503") == 40
    assert received_bodies == []


async def test_a_refused_client_that_sends_its_request_still_reads_the_503(http: str) -> None:
    async with served(http, ServeLimits(max_connections=1)) as (host, port):
        async with await anyio.connect_tcp(host, port) as first:
            await first.send(request("/hold"))
            async with await anyio.connect_tcp(host, port) as second:
                await second.send(request(body=b"x" * 10_000))
                assert (await read_to_end(second)).startswith(b"HTTP/1.1 503 ")
            release.set()
            assert (await read_response(first)).startswith(b"HTTP/1.1 200 ")


def test_a_port_in_use_is_one_line_naming_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            listen("127.0.0.1", port)
    assert caught.value.message == f"port {port} is in use; pick another with --port"


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("192.0.2.1", "192.0.2.1: it is not an address of this machine; use 127.0.0.1"),
        ("not a host!", "'not a host!': not an IP address or host name; use 127.0.0.1"),
        ("", "--host is empty"),
    ],
)
def test_a_bad_host_is_one_line_naming_the_fix(host: str, says: str) -> None:
    with pytest.raises(ListenError, match="--host") as caught:
        listen(host, 0)
    assert says in caught.value.message


@pytest.mark.parametrize("port", [-1, 65536])
def test_a_port_out_of_range_is_refused(port: int) -> None:
    with pytest.raises(ListenError, match="out of range"):
        listen("127.0.0.1", port)


def test_port_zero_binds_a_free_port_known_before_serving() -> None:
    sock = listen("127.0.0.1", 0)
    with sock:
        server = HttpServer(echo, sock)
        assert server.url == f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert sock.getsockname()[1] != 0


@pytest.mark.parametrize(
    "options",
    [{"header_timeout": 0}, {"body_timeout": -1}, {"max_connections": 0}, {"keep_alive": 0}],
)
def test_limits_refuse_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ServeLimits(**options)  # type: ignore[arg-type]
