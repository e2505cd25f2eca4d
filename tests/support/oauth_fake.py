"""A tiny fake of GHL's OAuth endpoints for the credentials tests: an agency with a few
locations, access tokens that expire on an injected clock, refresh tokens that rotate
(a reused one is refused, as GHL does), and counters of what was asked.

``FakeAgency.transport()`` serves it in-process (httpx2.MockTransport);
``serve_loopback`` serves it on 127.0.0.1 for other processes.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

CLIENT_ID = "65f0a1b2c3d4e5f6a7b8c9d0-lq2x3y4z"
CLIENT_SECRET = "secret-CANARY-0f9e8d7c"
COMPANY_ID = "agencyCompany01"


@dataclass
class Issued:
    kind: str  # "Company" or "Location"
    expires_at: float
    location_id: str | None = None


@dataclass
class FakeAgency:
    now: Callable[[], float]
    lifetime: float = 86399
    locations: dict[str, str] = field(
        default_factory=lambda: {"locA": "Downtown", "locB": "Uptown", "locC": "Harbor"}
    )
    refresh_delay: float = 0.0
    """Real seconds a refresh takes to answer (the two-process race needs a window)."""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self.codes: dict[str, str] = {}
        self.access: dict[str, Issued] = {}
        self.live_refresh: set[str] = set()
        self.used_refresh: set[str] = set()
        self.refreshes = 0
        self.refused_refreshes = 0
        self.location_tokens = 0
        self.refresh_log: list[tuple[float, float]] = []  # (arrived, answered), real time
        self.lock = threading.Lock()

    # --- set-up helpers -------------------------------------------------------------------

    def new_code(self, redirect_uri: str) -> str:
        code = f"code-{next(self._ids)}"
        self.codes[code] = redirect_uri
        return code

    def _token(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}-CANARY"

    def _company_grant(self) -> dict[str, Any]:
        access, refresh = self._token("agency-access"), self._token("agency-refresh")
        self.access[access] = Issued("Company", self.now() + self.lifetime)
        self.live_refresh.add(refresh)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "refresh_token": refresh,
            "scope": "conversations/message.write oauth.write oauth.readonly",
            "userType": "Company",
            "companyId": COMPANY_ID,
            "approvedLocations": list(self.locations),
            "userId": "user1",
        }

    # --- the routes -----------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query: str
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            return self._handle(method, path, headers, body, query)

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query: str
    ) -> tuple[int, dict[str, Any]]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        params = {k: v[0] for k, v in parse_qs(query).items()}
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if method == "POST" and path == "/oauth/token":
            return self._token_route(form)
        issued = self.access.get(bearer)
        if issued is None or issued.expires_at <= self.now():
            return 401, {"statusCode": 401, "message": "Invalid JWT"}
        if path.startswith("/oauth/"):
            if issued.kind != "Company":
                return 401, {"statusCode": 401, "message": "This authClass type is not allowed"}
            if "version" not in headers:
                return 400, {"statusCode": 400, "message": "version header was not found"}
            if method == "POST" and path == "/oauth/locationToken":
                location_id = form.get("locationId", "")
                if form.get("companyId") != COMPANY_ID or location_id not in self.locations:
                    return 400, {"statusCode": 400, "message": "Location not found"}
                self.location_tokens += 1
                access = self._token(f"loc-{location_id}")
                self.access[access] = Issued("Location", self.now() + self.lifetime, location_id)
                return 200, {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": self.lifetime,
                    "scope": "conversations/message.write",
                    "locationId": location_id,
                    "userId": "user1",
                }
            if method == "GET" and path == "/oauth/installedLocations":
                skip, limit = int(params.get("skip", 0)), int(params.get("limit", 20))
                rows = [
                    {"_id": k, "name": v, "address": "1 Main St", "isInstalled": True}
                    for k, v in self.locations.items()
                ]
                return 200, {"locations": rows[skip : skip + limit], "count": len(rows)}
        if issued.kind != "Location":
            return 401, {"statusCode": 401, "message": "Token's user type mismatch!"}
        if method == "GET" and path.startswith("/locations/"):
            location_id = path.rsplit("/", 1)[1]
            if location_id != issued.location_id:
                return 403, {"message": "The token does not have access to this location."}
            return 200, {"location": {"id": location_id, "name": self.locations[location_id]}}
        return 404, {"statusCode": 404, "message": f"Cannot {method} {path}"}

    def _token_route(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "Invalid client"}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "Invalid code"}
            return 200, self._company_grant()
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.live_refresh:
                self.refused_refreshes += 1
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Invalid grant: refresh token is invalid",
                }
            arrived = time.time()
            if self.refresh_delay:
                self.lock.release()  # let other requests in while this one "works"
                try:
                    time.sleep(self.refresh_delay)
                finally:
                    self.lock.acquire()
            self.live_refresh.discard(token)
            self.used_refresh.add(token)
            self.refreshes += 1
            answer = self._company_grant()
            self.refresh_log.append((arrived, time.time()))
            return 200, answer
        return 422, {"message": ["grant_type must be a valid enum value"]}

    # --- serving --------------------------------------------------------------------------

    def transport(self) -> httpx2.MockTransport:
        def handler(request: httpx2.Request) -> httpx2.Response:
            body = request.read()
            headers = {k.lower(): v for k, v in request.headers.items()}
            status, data = self.handle(
                request.method, request.url.path, headers, body, request.url.query.decode()
            )
            return httpx2.Response(status, json=data)

        return httpx2.MockTransport(handler)


@contextmanager
def serve_loopback(agency: FakeAgency) -> Iterator[str]:
    """Serve ``agency`` on 127.0.0.1 (an ephemeral port); yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, data = agency.handle(self.command, parts.path, headers, body, parts.query)
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
