"""Streamable HTTP for the MCP server, behind one shared bearer token.

The SDK's OAuth resource-server support would advertise an authorization server we
don't have; a static token checked in constant time is all a single user needs.
"""

from __future__ import annotations

import hmac
import logging
import socket
from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ghl_sms._serve import HttpServer, ServeLimits, is_loopback

__all__ = [
    "MCP_LIMITS",
    "BearerTokenMiddleware",
    "http_app",
    "is_loopback",
    "serve_http",
    "token_problem",
]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
# One user's assistants: a hundred connections is plenty.
MCP_LIMITS = ServeLimits(max_connections=100)
MAKE_A_TOKEN = "make one with `openssl rand -hex 32`"


def token_problem(token: str) -> str | None:
    """Why ``token`` can't be the bearer token (never quoting it), or None if it can."""
    if not token.strip():
        return f"is blank; {MAKE_A_TOKEN}"
    if not token.isascii() or any(c.isspace() or not c.isprintable() for c in token):
        return (
            "has spaces, control or non-ASCII characters, which an Authorization header "
            f"can't carry; {MAKE_A_TOKEN}"
        )
    return None


class BearerTokenMiddleware:
    """Answers 401 to any HTTP request without ``Authorization: Bearer <token>``.

    The scheme is case-insensitive (RFC 9110 section 11.1): ``bearer <token>`` passes too.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if token_problem(token) is not None:
            raise ValueError("the bearer token must be non-blank visible ASCII")
        self.app = app
        self._expected = token.encode()

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
        scheme, _, credentials = given.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(credentials.lstrip(b" "), self._expected)


def http_app(server: MCPServer[Any], token: str, *, host: str) -> ASGIApp:
    """The MCP endpoint at ``/mcp``; DNS-rebinding protection stays on for loopback hosts."""
    return BearerTokenMiddleware(server.streamable_http_app(host=host), token)


async def serve_http(
    server: MCPServer[Any],
    *,
    host: str,
    sock: socket.socket,
    token: str,
    limits: ServeLimits = MCP_LIMITS,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve on ``sock`` (bound to ``host``, see :func:`ghl_sms._serve.listen`) until
    cancelled; ``on_ready`` gets the URL."""
    http = HttpServer(
        http_app(server, token, host=host),
        sock,
        limits=limits,
        lifespan="on",
        log_config=None,  # our logging: stderr only
    )

    def ready(base_url: str) -> None:
        url = f"{base_url}{MCP_PATH}"
        logger.info("ghl-sms MCP server listening on %s", url)
        if on_ready is not None:
            on_ready(url)

    await http.serve(ready)
