"""What the server's lifespan yields to every tool: its locations, opened on demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghl_sms.mcp_server._locations import LocationPool

__all__ = ["AppState"]


@dataclass(frozen=True)
class AppState:
    locations: LocationPool
    """Each tool call's ``location`` picks one: its service, bulk engine and runner."""
    confirm: bool
    """Ask the user before every real send (off only for trusted automation)."""
