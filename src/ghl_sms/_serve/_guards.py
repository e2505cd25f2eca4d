"""Bounds on slow and numerous clients, which uvicorn alone does not give.

uvicorn waits forever for a request's headers on a fresh connection, for its body, and
accepts every connection (``limit_concurrency`` answers 503 only once a request's
headers have arrived). Here:

- :class:`_ConnectionGuard` (mixed into uvicorn's h11 and httptools protocols) answers
  503 to a connection beyond ``max_connections`` as soon as it is accepted, and closes a
  connection whose request headers are not complete ``header_timeout`` after it opened
  (or after the previous response), with 408 when part of a request had arrived;
- :class:`BodyTimeoutMiddleware` gives the whole request body ``body_timeout`` once the
  headers are in, then cancels the app and answers 408.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Protocol, cast

import anyio
import anyio.lowlevel
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghl_sms._serve._limits import ServeLimits

__all__ = ["BodyTimeoutMiddleware", "GuardedConfig", "guarded_protocol"]

logger = logging.getLogger("ghl_sms.serve")

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 15\r\nconnection: close\r\n\r\n"
    b"Request Timeout"
)
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 19\r\nconnection: close\r\n"
    b"retry-after: 1\r\n\r\nService Unavailable"
)
# How long a refused connection may keep sending before it is closed (see _refuse).
_REFUSED_LINGER = 1.0
_REFUSAL_LOG_INTERVAL = 10.0


class GuardedConfig(uvicorn.Config):
    """uvicorn's config, carrying the bounds to the protocol instances it creates."""

    def __init__(self, app: ASGIApp, *, limits: ServeLimits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits
        self.last_refusal_logged = float("-inf")


class _Uvicorn(Protocol):
    """What the guard uses of uvicorn's protocol classes (same in h11 and httptools)."""

    config: uvicorn.Config
    connections: set[Any]
    cycle: Any  # the request/response cycle; a new one once a request's headers are in
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop


class _ConnectionGuard(asyncio.Protocol):
    _header_timer: asyncio.TimerHandle | None = None
    _waiting_cycle: object = None  # the cycle current when the header clock started
    _partial_request = False
    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        conn = cast(_Uvicorn, self)
        limits = _limits(conn)
        if len(conn.connections) > limits.max_connections:
            self._refuse(conn, limits)
            return
        self._start_header_clock(conn)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped, so the client sees our 503 rather than a reset
        if self._header_timer is not None:
            self._partial_request = True
        super().data_received(data)
        conn = cast(_Uvicorn, self)
        if self._header_timer is not None and conn.cycle is not self._waiting_cycle:
            self._stop_header_clock()  # a new request's headers are complete

    def on_response_complete(self) -> None:
        cast(Any, super()).on_response_complete()
        conn = cast(_Uvicorn, self)
        # Pipelined requests may already have started the next cycle: its headers are in.
        if not conn.transport.is_closing() and (conn.cycle is None or conn.cycle.response_complete):
            self._start_header_clock(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def _start_header_clock(self, conn: _Uvicorn) -> None:
        self._stop_header_clock()
        self._waiting_cycle = conn.cycle
        self._partial_request = False
        timeout = _limits(conn).header_timeout
        self._header_timer = conn.loop.call_later(timeout, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        conn = cast(_Uvicorn, self)
        if conn.transport.is_closing() or conn.cycle is not self._waiting_cycle:
            return
        if self._partial_request:
            logger.info("closed a connection whose request headers were too slow (408)")
            conn.transport.write(_REQUEST_TIMEOUT)
        conn.transport.close()

    def _refuse(self, conn: _Uvicorn, limits: ServeLimits) -> None:
        """503, then a lingering close: the client's request, if it sends one, is read and
        dropped until it closes (or briefly), so its kernel sees our answer, not a reset."""
        self._refused = True
        conn.connections.discard(self)  # it no longer counts against the limit
        config = cast(GuardedConfig, conn.config)
        now = conn.loop.time()
        if now - config.last_refusal_logged >= _REFUSAL_LOG_INTERVAL:  # one line per flood
            config.last_refusal_logged = now
            logger.warning(
                "refusing connections beyond %d open at once (503); raise --max-connections "
                "if these are legitimate clients",
                limits.max_connections,
            )
        conn.transport.write(_TOO_MANY)
        if conn.transport.can_write_eof():
            conn.transport.write_eof()
            linger = min(_REFUSED_LINGER, limits.header_timeout)
            self._header_timer = conn.loop.call_later(linger, conn.transport.close)
        else:
            conn.transport.close()


def _limits(conn: _Uvicorn) -> ServeLimits:
    config = conn.config
    assert isinstance(config, GuardedConfig)
    return config.limits


@functools.cache
def guarded_protocol(http: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol ("auto": httptools if installed, else h11), guarded."""
    if http in ("auto", "httptools"):
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        except ImportError:
            if http == "httptools":
                raise
        else:

            class GuardedHttpTools(_ConnectionGuard, HttpToolsProtocol):
                pass

            return GuardedHttpTools
    elif http != "h11":
        raise ValueError(f"unknown HTTP implementation {http!r}: use auto, h11 or httptools")
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(_ConnectionGuard, H11Protocol):
        pass

    return GuardedH11


class BodyTimeoutMiddleware:
    """Cancels a request whose body takes longer than ``timeout`` seconds; answers 408.

    Only the body is bounded: once it is complete, ``receive()`` waits for a disconnect
    as long as the app likes (streamed responses, held requests).
    """

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.timeout
        body_complete = False
        timed_out = False
        response_started = False

        async def bounded_receive() -> Message:
            nonlocal body_complete, timed_out
            if body_complete:
                return await receive()
            message: Message | None = None
            with anyio.move_on_after(deadline - anyio.current_time()):
                message = await receive()
            if message is None:
                timed_out = True
                app_scope.cancel()
                await anyio.lowlevel.checkpoint()  # raises here when called within the app
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        with anyio.CancelScope() as app_scope:
            await self.app(scope, bounded_receive, tracked_send)
        if timed_out and not response_started:
            logger.info("answered 408 to a request whose body took over %ss", self.timeout)
            await send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"Request Timeout"})
