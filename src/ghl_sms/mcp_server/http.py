"""Streamable HTTP for the MCP server, behind one shared bearer token.

The SDK's OAuth resource-server support would advertise an authorization server we
don't have; a static token checked in constant time is all a single user needs.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

import anyio
import uvicorn
from mcp.server import MCPServer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BearerTokenMiddleware", "http_app", "is_loopback", "serve_http"]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """Answers 401 to any HTTP request without ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the bearer token must not be empty")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            response = JSONResponse(
                {"error": "unauthorized", "message": "Send Authorization: Bearer <token>."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="ghl-sms"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                given = value
                break
        return hmac.compare_digest(given, self._expected)


def http_app(server: MCPServer[Any], token: str, *, host: str) -> ASGIApp:
    """The MCP endpoint at ``/mcp``; DNS-rebinding protection stays on for loopback hosts."""
    return BearerTokenMiddleware(server.streamable_http_app(host=host), token)


async def serve_http(
    server: MCPServer[Any],
    *,
    host: str,
    port: int,
    token: str,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until cancelled. ``port=0`` picks a free port; ``on_ready`` gets the URL."""
    config = uvicorn.Config(
        http_app(server, token, host=host),
        host=host,
        port=port,
        log_config=None,  # our logging: stderr only
        access_log=False,
        lifespan="on",
    )
    uv = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:

        async def announce() -> None:
            while not uv.started:
                await anyio.sleep(0.01)
            bound = uv.servers[0].sockets[0].getsockname()
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            url = f"http://{shown}:{bound[1]}{MCP_PATH}"
            logger.info("ghl-sms MCP server listening on %s", url)
            if on_ready is not None:
                on_ready(url)

        tg.start_soon(announce)
        await uv.serve()
        tg.cancel_scope.cancel()
