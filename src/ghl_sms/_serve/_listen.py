"""Bind the listening socket ourselves, before uvicorn starts.

uvicorn binds inside ``serve()`` and answers a busy port with a logged traceback and
``sys.exit(3)``. Binding first gives a one-line error the entry points turn into exit 2,
and tells the real port when ``--port 0`` asked for any free one.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket

__all__ = ["ListenError", "is_loopback", "listen", "url_of"]

# RFC 1123 host names: letters, digits and hyphens in dot-separated labels.
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
_HOST_HINT = "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) with --host"


class ListenError(Exception):
    """The server cannot listen where it was asked to; the message says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach a server bound to ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening; raises :class:`ListenError`."""
    if not 0 <= port <= 65535:
        raise ListenError(f"port {port} is out of range; pick one from 0 to 65535 with --port")
    address = _address(host)
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ListenError(f"cannot listen on {host!r}: no such address; {_HOST_HINT}") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # A restart may bind while the last run's connections sit in TIME_WAIT; a port
        # another process listens on still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(_describe(exc, host, port)) from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    """``http://127.0.0.1:8787`` (IPv6 hosts in brackets) for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def _address(host: str) -> str:
    """The host to resolve, refused early when it can't be one (no DNS lookup for junk)."""
    address = host.strip().removeprefix("[").removesuffix("]")
    if not address:
        raise ListenError(f"--host is empty; {_HOST_HINT}")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not _HOST_NAME.fullmatch(address):
            raise ListenError(
                f"cannot listen on {host!r}: not an IP address or host name; {_HOST_HINT}"
            ) from None
    return address


def _describe(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is in use; pick another with --port"
    if exc.errno == errno.EACCES:
        return (
            f"no permission to listen on port {port} (ports below 1024 need root); "
            "pick another with --port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine; {_HOST_HINT}"
    reason = exc.strerror or type(exc).__name__
    return f"cannot listen on {host} port {port}: {reason}; check --host and --port"
