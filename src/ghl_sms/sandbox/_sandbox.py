"""``Sandbox``: the emulator as one object, for tests, the demo and ``--sandbox`` runs."""

from __future__ import annotations

import copy
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import httpx2
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from ghl_sms._clock import Clock, OffsetClock
from ghl_sms._serve import HttpServer, ServeLimits, listen
from ghl_sms.sandbox._engine import SandboxEngine
from ghl_sms.sandbox._faults import FaultKind
from ghl_sms.sandbox._ratelimit import Limits
from ghl_sms.sandbox._seed import DEMO_LOCATION_ID, DEMO_TOKEN, seed_ids
from ghl_sms.sandbox._seed_agency import (
    AGENCY_COMPANY_ID,
    AGENCY_LOCATION_IDS,
    INSTALLED_LOCATION_IDS,
    OAUTH_APP,
    OAuthApp,
)
from ghl_sms.sandbox._shapes import message_json
from ghl_sms.sandbox._webhooks import WebhookSigner
from ghl_sms.sandbox.app import FAULT_HEADER, IN_PROCESS_KEY, create_app
from ghl_sms.sandbox.store import SandboxStore, connect

__all__ = ["IN_PROCESS_BASE_URL", "Reply", "Sandbox", "SandboxTransport"]

logger = logging.getLogger(__name__)

IN_PROCESS_BASE_URL = "http://ghl-sandbox.invalid"
# Served, the sandbox takes a whole bulk run's connections (and benches') at once.
SERVE_LIMITS = ServeLimits(max_connections=1000)


@dataclass(frozen=True)
class Reply:
    """What ``Sandbox.reply()`` stored: the inbound message and the keyword it carried."""

    message_id: str
    conversation_id: str
    keyword: str | None  # "opt_out" | "opt_in" | "help" | None


class SandboxTransport(httpx2.AsyncBaseTransport):
    """In-process transport to the sandbox that fails the way a socket would.

    A ``drop`` fault raises ``httpx2.RemoteProtocolError`` and a ``hang`` fault
    ``httpx2.ReadTimeout``, both after the app has done the work (a send is stored).
    """

    def __init__(self, app: Starlette) -> None:
        async def in_process(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, IN_PROCESS_KEY: True}, receive, send)

        self._asgi = httpx2.ASGITransport(app=in_process)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._asgi.handle_async_request(request)
        fault = response.headers.get(FAULT_HEADER)
        if fault == "drop":
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            )
        if fault == "hang":
            raise httpx2.ReadTimeout("The read operation timed out", request=request)
        return response


class Sandbox:
    """A local GHL: API routes, a simulated carrier, webhooks and test controls.

    ```python
    sb = Sandbox(clock=FakeClock())            # in memory, seeded with the demo location
    async with sb.client() as http:            # httpx2 client with token and Version set
        r = await http.post("/conversations/messages",
                            json={"type": "SMS", "contactId": sb.seed_ids["reachable"],
                                  "message": "hi"})
    sb.advance(5)                              # pending -> sent -> delivered
    ```

    Arguments:
        db_path: SQLite file (state survives restarts; one sandbox per file at a time) or
            ``":memory:"``.
        clock: time source; ``FakeClock`` in tests, default ``OffsetClock()`` (real time
            that ``advance()`` and ``/_sandbox/clock/advance`` can push forward).
        burst_limit, burst_window, daily_limit: GHL's rate limits per token.
        seed: create the demo location, token, numbers and contacts if they are missing.
        strict_version: require each module's own ``Version`` value.
        base_url: the URL in-process clients use (``serve()`` replaces it with the real one).
        hang_seconds: how long a ``hang`` fault holds a socket the client does not close.
    """

    def __init__(
        self,
        *,
        db_path: str | os.PathLike[str] = ":memory:",
        clock: Clock | None = None,
        burst_limit: int = 100,
        burst_window: float = 10.0,
        daily_limit: int = 200_000,
        seed: bool = True,
        strict_version: bool = False,
        base_url: str = IN_PROCESS_BASE_URL,
        hang_seconds: float = 300.0,
    ) -> None:
        self.clock: Clock = clock if clock is not None else OffsetClock()
        self.store = SandboxStore(connect(os.fspath(db_path)))
        self.engine = SandboxEngine(
            self.store,
            self.clock,
            limits=Limits(burst_limit, burst_window, daily_limit),
            signer=self._signer(),
            strict_version=strict_version,
        )
        self.engine.persist_keys()
        if seed:
            self.engine.seed()
        self.base_url = base_url
        self.app = create_app(self.engine, hang_seconds=hang_seconds)
        self._server: HttpServer | None = None

    def _signer(self) -> WebhookSigner:
        rsa_pem = self.store.get_meta("webhook_key_rsa")
        ed_pem = self.store.get_meta("webhook_key_ed25519")
        if rsa_pem and ed_pem:
            return WebhookSigner.from_pems(rsa_pem, ed_pem)
        return WebhookSigner.shared()

    # -- identity of the demo location --------------------------------------------------

    @property
    def token(self) -> str:
        """The demo location's token (valid once seeded)."""
        return DEMO_TOKEN

    @property
    def location_id(self) -> str:
        return DEMO_LOCATION_ID

    # -- the demo agency (a company, its locations, a marketplace app) ------------------

    @property
    def oauth_app(self) -> OAuthApp:
        """The registered app: ``client_id``, ``client_secret``, ``app_id``, scopes..."""
        return OAUTH_APP

    @property
    def agency_id(self) -> str:
        """The agency's company id (the demo location's ``companyId``)."""
        return AGENCY_COMPANY_ID

    @property
    def agency_location_ids(self) -> tuple[str, ...]:
        """The seeded sub-accounts of the agency, the demo location first."""
        return AGENCY_LOCATION_IDS

    @property
    def installed_location_ids(self) -> tuple[str, ...]:
        """The seeded sub-accounts the app is installed on."""
        return INSTALLED_LOCATION_IDS

    @property
    def oauth_stats(self) -> dict[str, int]:
        """Since start or reset: ``codesRedeemed``, ``refreshes``, ``refreshesRefused``
        (a spent, unknown or expired refresh token), ``locationTokens``."""
        return dict(self.engine.oauth.stats)

    def install_app(self, location_id: str, *, installed: bool = True) -> None:
        """Install the app on (or remove it from) a location of the agency."""
        if installed:
            self.engine.oauth.install(OAUTH_APP.app_id, location_id)
        else:
            self.engine.oauth.uninstall(OAUTH_APP.app_id, location_id)

    @property
    def seed_ids(self) -> dict[str, str]:
        """Trait -> contact id (``"reachable"``, ``"sms_dnd"``, ...) and number trait ->
        phone number (``"default_number"``, ``"unregistered_number"``)."""
        return seed_ids()

    # -- HTTP ----------------------------------------------------------------------------

    def transport(self) -> SandboxTransport:
        return SandboxTransport(self.app)

    def client(
        self,
        *,
        token: str | None = None,
        version: str | None = "2021-04-15",
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx2.AsyncClient:
        """An ``httpx2.AsyncClient`` wired to this sandbox in-process, authenticated."""
        all_headers = {"Authorization": f"Bearer {token or self.token}"}
        if version is not None:
            all_headers["Version"] = version
        all_headers.update(headers or {})
        return httpx2.AsyncClient(
            transport=self.transport(), base_url=self.base_url, headers=all_headers, **kwargs
        )

    # -- time and state -----------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """Move the clock; apply scheduled sends and carrier steps that became due.

        Returns the number of message transitions applied."""
        return self.engine.advance(seconds)

    def process_due(self) -> int:
        return self.engine.process_due()

    def reset(self, *, seed: bool = True) -> None:
        self.engine.reset(with_seed=seed)

    def state(self) -> dict[str, Any]:
        return self.engine.state()

    def set_rate_limits(
        self, *, burst: int | None = None, window: float | None = None, daily: int | None = None
    ) -> None:
        current = self.engine.limiter.limits
        self.engine.limiter.set_limits(
            Limits(
                burst if burst is not None else current.burst,
                window if window is not None else current.window,
                daily if daily is not None else current.daily,
            )
        )

    # -- data ----------------------------------------------------------------------------

    def create_location(
        self,
        *,
        name: str = "Sandbox location",
        timezone: str = "America/New_York",
        numbers: Sequence[str] = (),
        location_id: str | None = None,
        agency: bool = False,
    ) -> str:
        """A new location; the first of ``numbers`` is its default sender. ``agency``: a
        sub-account of the demo agency, with the app installed on it."""
        fields: dict[str, Any] = {"name": name, "timezone": timezone}
        if location_id is not None:
            fields["id"] = location_id
        if agency:
            fields["companyId"] = AGENCY_COMPANY_ID
        location = self.engine.create_location(fields)
        for index, phone in enumerate(numbers):
            self.engine.add_number(location["id"], phone, is_default=index == 0)
        if agency:
            self.install_app(location["id"])
        return str(location["id"])

    def create_token(self, location_id: str, scopes: Iterable[str] | None = None) -> str:
        """A token for ``location_id`` with ``scopes`` (all the sandbox knows by default)."""
        return self.engine.create_token(location_id, list(scopes) if scopes is not None else None)

    def add_number(
        self,
        location_id: str,
        phone: str,
        *,
        sms: bool = True,
        mms: bool = True,
        a2p_registered: bool = True,
        is_default: bool = False,
    ) -> None:
        self.engine.add_number(
            location_id,
            phone,
            sms=sms,
            mms=mms,
            a2p_registered=a2p_registered,
            is_default=is_default,
        )

    def create_contact(
        self, fields: Mapping[str, Any], *, location_id: str | None = None
    ) -> dict[str, Any]:
        """A contact from GHL-style fields (``firstName``, ``phone``, ``dndSettings``...)."""
        contact = self.engine.build_contact(location_id or self.location_id, dict(fields))
        return self.engine.insert_contact(contact)

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        """The contact as ``GET /contacts/{id}`` has it (a copy: change it through the API)."""
        found = self.store.get_contact(contact_id)
        return None if found is None else copy.deepcopy(found)

    def message(self, message_id: str) -> dict[str, Any] | None:
        """A message as ``GET /conversations/messages/{id}`` shows it (unwrapped)."""
        self.engine.process_due()
        row = self.store.get_message(message_id)
        return None if row is None else message_json(row)

    async def reply(self, contact_id: str, body: str, attachments: Sequence[str] = ()) -> Reply:
        """The contact texts in: an inbound message, ``unreadCount`` + 1, webhooks, and
        STOP/START handling (SMS DND set to permanent / lifted)."""
        self.engine.process_due()
        row, kind = self.engine.reply(contact_id, body, list(attachments))
        return Reply(row.id, row.conversation_id, None if kind is None else kind.value)

    # -- faults --------------------------------------------------------------------------

    def inject_fault(
        self,
        kind: FaultKind,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """The next ``count`` GHL requests (matching ``path``/``method`` if given) fail.

        Kinds: ``"500"``, ``"429"`` (not processed); ``"500_after"``, ``"drop"``,
        ``"hang"`` (processed first: a send happens, the caller does not learn of it)."""
        self.engine.faults.add(kind, count, path, method)

    def clear_faults(self) -> None:
        self.engine.faults.clear()

    # -- webhooks ------------------------------------------------------------------------

    def add_webhook_target(
        self,
        url: str,
        transport: httpx2.AsyncBaseTransport | None = None,
        events: Iterable[str] | None = None,
    ) -> int:
        """Deliver events to ``url`` (through ``transport``, e.g. an ASGI receiver)."""
        target = self.engine.outbox.add_target(
            url, transport=transport, events=None if events is None else frozenset(events)
        )
        return target.id

    async def remove_webhook_target(self, target_id: int | None = None) -> None:
        await self.engine.outbox.remove_target(target_id)

    async def deliver_webhooks(self) -> int:
        """Send every queued event that is due; returns the number of attempts."""
        self.engine.process_due()
        return await self.engine.outbox.deliver(self.clock.now())

    @property
    def webhook_events(self) -> list[dict[str, Any]]:
        """Every event emitted (the last 1,000), delivered or not, oldest first."""
        return self.engine.outbox.events

    @property
    def webhook_log(self) -> list[dict[str, Any]]:
        """Delivery attempts: ``webhookId``, ``url``, ``status``, ``error``, ``willRetry``."""
        return list(self.engine.outbox.log)

    def webhook_public_keys(self) -> dict[str, str]:
        """PEM public keys: ``{"ed25519": ..., "rsa": ...}`` (RSA is 2048-bit here)."""
        return self.engine.outbox.signer.public_keys()

    # -- serving -------------------------------------------------------------------------

    async def run_ticker(self, interval: float = 0.2) -> None:
        """Forever: apply due transitions and deliver webhooks (the served mode's loop)."""
        while True:
            try:
                self.engine.process_due()
                await self.engine.outbox.deliver(self.clock.now())
            except Exception:  # keep ticking; a broken receiver must not stop the sandbox
                logger.exception("sandbox ticker failed")
            await anyio.sleep(interval)

    async def serve(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        sock: socket.socket | None = None,
        limits: ServeLimits | None = None,
        tick_interval: float = 0.2,
        log_level: str = "warning",
        on_ready: Callable[[str], None] | None = None,
        http: str = "auto",
    ) -> None:
        """Serve over HTTP until cancelled or :meth:`stop`; ``on_ready(base_url)`` once bound.

        Listens on ``sock`` if given (see :func:`ghl_sms._serve.listen`), else binds
        ``host:port`` (raising :class:`~ghl_sms._serve.ListenError`); ``port=0`` picks a
        free port and ``base_url`` then tells which. ``limits`` bound slow and numerous
        clients (default: :data:`SERVE_LIMITS`). ``http`` is "auto" (httptools when
        installed), "h11" or "httptools"."""
        server = HttpServer(
            self.app,
            sock if sock is not None else listen(host, port),
            limits=limits or SERVE_LIMITS,
            log_level=log_level,
            http=http,
        )

        def ready(url: str) -> None:
            self.base_url = url
            if on_ready is not None:
                on_ready(url)

        async with anyio.create_task_group() as tg:
            tg.start_soon(self.run_ticker, tick_interval)
            self._server = server
            try:
                await server.serve(ready)
            finally:
                self._server = None
            tg.cancel_scope.cancel()

    def stop(self) -> None:
        """Ask a running ``serve()`` to shut down gracefully."""
        if self._server is not None:
            self._server.stop()

    # -- closing -------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self.engine.outbox.aclose()
        self.store.close()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Sandbox(base_url={self.base_url!r}, clock={self.clock!r})"
