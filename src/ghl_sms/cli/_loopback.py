"""The loopback redirect of ``ghl-sms login``: one listener on 127.0.0.1 that waits for
the browser to come back with ``?code=`` (RFC 8252 §7.3), and the parsing of a pasted
code or redirect URL. The code is a secret: it is never echoed."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = ["CallbackError", "LoopbackListener", "code_from_paste"]

_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>ghl-sms</title></head>"
    "<body><h1>{title}</h1><p>{body}</p></body></html>"
)


class CallbackError(Exception):
    """The redirect came back without a code (refused, or a state that is not ours)."""


@dataclass(frozen=True)
class Callback:
    code: str
    state: str | None


def _parse(query: str, state: str | None) -> Callback | None:
    """The code in a redirect's query; None when the query is not a redirect at all."""
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if "error" in params:
        detail = params.get("error_description") or params["error"]
        raise CallbackError(f"The authorization was refused ({detail[:200]}).")
    code = params.get("code", "").strip()
    if not code:
        return None
    got = params.get("state")
    # GHL may not echo a state; one that comes back must be ours (no cross-site login).
    if got is not None and state is not None and got != state:
        raise CallbackError("The redirect carried a state that this login did not send.")
    return Callback(code, got)


def code_from_paste(text: str, state: str | None = None) -> str:
    """The code from what a person pasted: the code itself, or the whole redirect URL."""
    text = text.strip()
    if "code=" in text:
        found = _parse(urlsplit(text).query or text.split("?", 1)[-1], state)
        if found is not None:
            return found.code
    if not text or any(c.isspace() for c in text) or "=" in text or "/" in text:
        raise CallbackError(
            "That is not an authorization code or a redirect URL with ?code= in it."
        )
    return text


class LoopbackListener:
    """Listens on 127.0.0.1 (an ephemeral port unless one is given) for one redirect."""

    def __init__(self, port: int = 0, path: str = "/callback") -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind(("127.0.0.1", port))
            self._socket.listen(4)
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, timeout: float, state: str | None) -> str:
        """The code of the first request to the callback path that carries one.

        Other requests (a browser's favicon) get a 404 and are ignored. Raises
        TimeoutError after ``timeout`` seconds, CallbackError on a refusal.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self._socket.settimeout(left)
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                raise
            except OSError:
                raise TimeoutError from None
            with connection:
                found = self._serve_one(connection, state)
            if found is not None:
                return found

    def _serve_one(self, connection: socket.socket, state: str | None) -> str | None:
        connection.settimeout(10)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16_384:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                head += chunk
        except OSError:
            return None
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        target = urlsplit(parts[1]) if len(parts) >= 2 else None
        if target is None or parts[0] != "GET" or target.path != self.path:
            _reply(connection, 404, "Not found", "This is ghl-sms waiting for GHL's redirect.")
            return None
        try:
            found = _parse(target.query, state)
        except CallbackError as exc:
            _reply(connection, 400, "Login refused", str(exc))
            raise
        if found is None:
            _reply(connection, 400, "No code", "The redirect carried no authorization code.")
            return None
        _reply(
            connection,
            200,
            "ghl-sms is logged in",
            "You can close this tab and go back to the terminal.",
        )
        return found.code


def _reply(connection: socket.socket, status: int, title: str, body: str) -> None:
    import html

    page = _PAGE.format(title=html.escape(title), body=html.escape(body)).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with contextlib.suppress(OSError):
        connection.sendall(head + page)
