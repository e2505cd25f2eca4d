"""Who may use the console: this machine's browser, or whoever holds the token.

A page on any web site can make the browser send requests to 127.0.0.1, so on loopback:

- the ``Host`` header must name this machine (a DNS-rebinding page names its own host);
- every request that changes something must carry ``X-Console: 1``, which a cross-site
  form can't send and a cross-site ``fetch`` can't add without a CORS preflight we never
  answer.

With a token (required off loopback), every request needs it too: as a bearer header,
or the cookie set when the printed URL (``/?token=...``) is opened. The cookie is
``HttpOnly`` and ``SameSite=Strict``; the token never appears in a page or a log line.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["COOKIE", "ConsoleGuard"]

COOKIE = "ghl_sms_console"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class ConsoleGuard:
    def __init__(self, app: ASGIApp, *, token: str | None, local_only: bool) -> None:
        self.app = app
        self._token = token.encode() if token else None
        self._local_only = local_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", ())}
        response = self._refusal(scope, headers)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, bytes]) -> Response | None:
        host = headers.get("host", b"").decode("latin-1").strip().lower()
        if self._local_only and _host_name(host) not in _LOCAL_HOSTS:
            return _refuse(403, "This console answers only to this machine: open 127.0.0.1.")
        if self._token is not None and not self._authorized(headers):
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
            if scope["path"] == "/" and given and self._matches(given[0].encode()):
                # The printed URL: keep the token in a cookie, and out of the address bar.
                response = RedirectResponse("/", status_code=303)
                response.set_cookie(COOKIE, given[0], httponly=True, samesite="strict", path="/")
                return response
            return _refuse(
                401, "Open the URL `ghl-sms console` printed (with ?token=...), or send the token."
            )
        if scope["method"] not in _SAFE_METHODS and headers.get("x-console") != b"1":
            return _refuse(403, "Changes come from the console's own page (X-Console: 1).")
        return None

    def _authorized(self, headers: dict[str, bytes]) -> bool:
        scheme, _, credentials = headers.get("authorization", b"").strip().partition(b" ")
        if scheme.lower() == b"bearer" and self._matches(credentials.strip()):
            return True
        cookie: SimpleCookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", b"").decode("latin-1"))
        except Exception:  # a malformed Cookie header is no cookie
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and self._matches(morsel.value.encode())

    def _matches(self, given: bytes) -> bool:
        return self._token is not None and hmac.compare_digest(given, self._token)


def _refuse(status: int, message: str) -> Response:
    code = "unauthorized" if status == 401 else "forbidden"
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
