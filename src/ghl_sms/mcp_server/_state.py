"""What the server's lifespan yields to every tool: one service, shared."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from ghl_sms.ops.service import SmsService

__all__ = ["AppState", "ServiceFactory"]

ServiceFactory = Callable[[], AbstractAsyncContextManager[SmsService]]
"""Opens the service for the server's lifetime (once per process on stdio and HTTP)."""


@dataclass(frozen=True)
class AppState:
    service: SmsService
    confirm: bool
    """Ask the user before every real send (off only for trusted automation)."""
