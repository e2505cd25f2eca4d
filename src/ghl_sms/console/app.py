"""The console's web app: one page, a JSON API under ``/api/``, and live updates.

The page (``static/``: plain HTML, CSS and JavaScript, no build step, nothing fetched
from elsewhere) asks ``/api/events`` for server-sent events: a ``change`` event names
what changed (the ``ledger``, the ``sandbox``) and the page reloads what it shows.

With the embedded sandbox, every path that is not the console's is the sandbox's own
GHL API and ``/_sandbox/`` controls, so other commands can use the same sandbox while
the console holds it (``GHL_BASE_URL`` pointed at the console).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ghl_sms._clock import Clock
from ghl_sms._serve import HttpServer, ServeLimits
from ghl_sms.console import _campaigns, _history, _messages, _phones
from ghl_sms.console._core import ServiceFactory, open_core
from ghl_sms.console._guard import ConsoleGuard
from ghl_sms.console._http import core_of, ok

if TYPE_CHECKING:
    from ghl_sms.sandbox import Sandbox

__all__ = ["CONSOLE_LIMITS", "create_console_app", "is_console_path", "serve_console"]

STATIC = Path(__file__).parent / "static"
# One person's browser tabs (each holds an event stream), plus the commands using the sandbox.
CONSOLE_LIMITS = ServeLimits(max_connections=200)
EVENT_POLL = 0.25
"""Seconds between looks for changes; a text shows on a phone well within a second."""
KEEP_ALIVE = 15.0


def is_console_path(path: str) -> bool:
    return path == "/" or path.startswith(("/api/", "/assets/", "/favicon"))


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def favicon(request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def info(request: Request) -> Response:
    core = core_of(request)
    return ok({"sandbox": core.sandbox is not None, "location_id": core.location_id})


async def events(request: Request) -> Response:
    core = core_of(request)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        last: dict[str, Any] | None = None
        quiet = 0.0
        while True:
            marks = core.fingerprint()
            if marks != last:
                changed = [k for k in marks if last is None or marks[k] != last.get(k)]
                yield f"event: change\ndata: {json.dumps({'topics': changed})}\n\n"
                last, quiet = marks, 0.0
            elif quiet >= KEEP_ALIVE:
                yield ": keep-alive\n\n"
                quiet = 0.0
            await anyio.sleep(EVENT_POLL)
            quiet += EVENT_POLL

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _WithSandbox:
    """The console's paths to the console; every other path to the sandbox's GHL API."""

    def __init__(self, console: ASGIApp, sandbox: ASGIApp) -> None:
        self.console = console
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_console_path(scope["path"]):
            await self.sandbox(scope, receive, send)
        else:
            await self.console(scope, receive, send)


def create_console_app(
    open_service: ServiceFactory,
    *,
    clock: Clock,
    sandbox: Sandbox | None = None,
    token: str | None = None,
    local_only: bool = True,
    serve_sandbox_api: bool = True,
) -> ASGIApp:
    """The console over the service ``open_service`` opens (once, for the app's life).

    ``sandbox``: the embedded sandbox that service talks to (the phones, and its API for
    other commands when ``serve_sandbox_api``). ``token``: required on every request when
    given. ``local_only``: only a ``Host`` naming this machine (loopback binds)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_core(open_service, clock=clock, sandbox=sandbox) as core:
            app.state.core = core
            yield

    console = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/favicon.ico", favicon, methods=["GET"]),
            Route("/api/info", info, methods=["GET"]),
            Route("/api/events", events, methods=["GET"]),
            *_phones.routes,
            *_messages.routes,
            *_campaigns.routes,
            *_history.routes,
            Mount("/assets", StaticFiles(directory=STATIC), name="assets"),
        ],
        lifespan=lifespan,
    )
    guarded = ConsoleGuard(console, token=token, local_only=local_only)
    if sandbox is not None and serve_sandbox_api:
        return _WithSandbox(guarded, sandbox.app)
    return guarded


async def serve_console(
    app: ASGIApp,
    sock: socket.socket,
    *,
    limits: ServeLimits = CONSOLE_LIMITS,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve on ``sock`` (see :func:`ghl_sms._serve.listen`) until cancelled."""
    server = HttpServer(app, sock, limits=limits, lifespan="on", log_config=None)
    await server.serve(on_ready)
