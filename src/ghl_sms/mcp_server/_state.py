"""What the server's lifespan yields to every tool: one service, shared."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ghl_sms.ops.service import SmsService

if TYPE_CHECKING:
    from ghl_sms.mcp_server._bulk import BulkRunner
    from ghl_sms.ops.bulk import BulkEngine

__all__ = ["AppState", "ServiceFactory"]

ServiceFactory = Callable[[], AbstractAsyncContextManager[SmsService]]
"""Opens the service for the server's lifetime (once per process on stdio and HTTP)."""


@dataclass(frozen=True)
class AppState:
    service: SmsService
    confirm: bool
    """Ask the user before every real send (off only for trusted automation)."""
    bulk: BulkEngine | None = None
    runner: BulkRunner | None = None
    """Sends running campaigns in the background while the server runs."""
