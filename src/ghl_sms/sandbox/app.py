"""The sandbox's ASGI app: GHL's vendor routes, ``/_sandbox/`` controls, injected faults."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ghl_sms.sandbox._engine import SandboxEngine
from ghl_sms.sandbox._errors import internal_error, too_many_requests
from ghl_sms.sandbox._routes import (
    admin,
    admin_agency,
    contacts,
    conversations,
    messages,
    numbers,
    oauth,
)

__all__ = ["FAULT_HEADER", "IN_PROCESS_KEY", "create_app"]

# Set in the ASGI scope by Sandbox.transport(): faults are then reported in a header
# (which the transport turns into the httpx2 error) instead of breaking a socket.
IN_PROCESS_KEY = "ghl_sms.sandbox.in_process"
FAULT_HEADER = "x-sandbox-fault"

Message = MutableMapping[str, Any]


def create_app(engine: SandboxEngine, *, hang_seconds: float = 300.0) -> Starlette:
    """A Starlette app serving ``engine``; ``hang_seconds`` bounds a "hang" over a socket."""
    routes: list[Route] = [
        *messages.routes,
        *conversations.routes,
        *contacts.routes,
        *numbers.routes,
        *oauth.routes,
        *admin.routes,
        *admin_agency.routes,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _not_found, Exception: _server_error},
    )
    app.router.redirect_slashes = False
    app.state.engine = engine
    app.add_middleware(FaultMiddleware, engine=engine, hang_seconds=hang_seconds)
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    # NestJS answers an unknown route (or method) with 404 "Cannot METHOD /path".
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in (404, 405):
        return JSONResponse(
            {
                "statusCode": 404,
                "message": f"Cannot {request.method} {request.url.path}",
                "error": "Not Found",
            },
            status_code=404,
        )
    detail = exc.detail if isinstance(exc, HTTPException) else "Error"
    return JSONResponse({"statusCode": status, "message": detail}, status_code=status)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse(internal_error(), status_code=500)


class FaultMiddleware:
    """Applies the faults queued in ``engine.faults`` to GHL routes (never ``/_sandbox/``)."""

    def __init__(self, app: ASGIApp, engine: SandboxEngine, hang_seconds: float) -> None:
        self.app = app
        self.engine = engine
        self.hang_seconds = hang_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        kind = self.engine.faults.take(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        if kind == "500":
            await _send_json(send, 500, internal_error(), [])
            return
        if kind == "429":
            headers = self.engine.limiter.untouched_headers()
            headers[-1] = ("X-RateLimit-Remaining", "0")
            await _send_json(send, 429, too_many_requests(), headers)
            return
        start, body = await _capture(self.app, scope, receive)
        if kind == "500_after":
            await _send_json(send, 500, internal_error(), [])
            return
        if scope.get(IN_PROCESS_KEY):
            await _send_json(send, 500, {"fault": kind}, [(FAULT_HEADER, kind)])
            return
        if kind == "hang":
            with anyio.move_on_after(self.hang_seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return  # the client gave up; there is nobody left to answer
        # "drop" (or a hang nobody gave up on): announce the whole body, send half, stop.
        # uvicorn then closes the connection and the client sees a protocol error.
        await send(start)
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    start["headers"] = headers
    return start, body


async def _send_json(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    body: Any,
    headers: list[tuple[str, str]],
) -> None:
    raw = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
