"""One way to serve an ASGI app over HTTP: on a socket bound beforehand, with bounds."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Literal

import anyio
import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG

from ghl_sms._serve._guards import BodyTimeoutMiddleware, GuardedConfig, guarded_protocol
from ghl_sms._serve._limits import ServeLimits
from ghl_sms._serve._listen import url_of

__all__ = ["HttpServer"]

# On stop, requests still running (a held MCP stream) get this long, then are cancelled.
_SHUTDOWN_GRACE = 5


class HttpServer:
    """Serves ``app`` on ``sock`` (see :func:`~ghl_sms._serve.listen`) until cancelled or
    :meth:`stop`; closes the socket when done.

    ``log_config=None`` leaves logging to the caller; the default is uvicorn's own.
    ``http`` is "auto" (httptools when installed), "h11" or "httptools".
    """

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        *,
        limits: ServeLimits | None = None,
        lifespan: Literal["on", "off", "auto"] = "off",
        log_level: str | None = None,
        log_config: dict[str, Any] | None = LOGGING_CONFIG,
        access_log: bool = False,
        http: str = "auto",
    ) -> None:
        self.limits = limits or ServeLimits()
        self.sock = sock
        self.url = url_of(sock)
        host, port = sock.getsockname()[:2]
        config = GuardedConfig(
            BodyTimeoutMiddleware(app, self.limits.body_timeout),
            limits=self.limits,
            host=host,
            port=port,
            http=guarded_protocol(http),
            ws="none",
            lifespan=lifespan,
            log_level=log_level,
            log_config=log_config,
            access_log=access_log,
            server_header=False,
            timeout_keep_alive=self.limits.keep_alive,
            # Our guard refuses the connection past the limit; this also caps the requests
            # in flight (uvicorn counts the asking connection, hence the one more).
            limit_concurrency=self.limits.max_connections + 1,
            timeout_graceful_shutdown=_SHUTDOWN_GRACE,
        )
        self._server = uvicorn.Server(config)

    @property
    def started(self) -> bool:
        return self._server.started

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until cancelled or stopped; ``on_ready(url)`` once accepting requests."""
        server = self._server
        try:
            async with anyio.create_task_group() as tg:

                async def announce() -> None:
                    while not server.started:
                        await anyio.sleep(0.01)
                    if on_ready is not None:
                        on_ready(self.url)

                tg.start_soon(announce)
                try:
                    await server.serve(sockets=[self.sock])
                finally:
                    if server.started and not server.should_exit:  # cancelled: close sockets
                        with anyio.CancelScope(shield=True):
                            await server.shutdown(sockets=[self.sock])
                tg.cancel_scope.cancel()
        finally:
            self.sock.close()

    def stop(self) -> None:
        """Ask a running :meth:`serve` to finish (gracefully)."""
        self._server.should_exit = True
