"""Helpers for tests that drive other processes over loopback: a free port to give them,
and waiting for something they do by polling a condition (never a timing assumption)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    """A loopback port nothing listens on now (for a child process to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0,
             every: float = 0.05) -> Any:  # fmt: skip
    """Poll ``condition`` until it returns something truthy, and return that; fail saying
    ``what`` was awaited after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
