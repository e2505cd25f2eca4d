"""How a ``BulkEngine`` is tuned and how it reaches GHL: ``EngineConfig`` and ``Connector``.

Kept apart from the engine so the wiring (the CLI, the MCP server, the worker, tests)
can build an engine's settings without the engine's own imports.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from ghl_sms.ghl import GhlClient, RateLimits, RequestPacer

__all__ = ["Connector", "EngineConfig"]

Connector = Callable[[str, RequestPacer], AbstractAsyncContextManager[GhlClient]]
"""Opens a client for a location whose every request goes through ``pacer`` (the
location's request budget): ``async with connect(location_id, pacer) as client``."""


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    workers: int = 8
    """Concurrent sends per location."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """GHL's request limits per location; the headers can only make them stricter."""
    lease_ttl: float = 30.0
    idle_poll: float = 5.0
    retry_base: float = 30.0
    retry_max: float = 900.0
    import_batch: int = 1000
    default_region: str = "US"
    estimate_placeholder: str = "xxxxxxxx"
    """Stands in for merge fields only GHL knows, in the dry run's part counts."""
    wait_for_busy: bool = False
    """``run`` waits for locations another process is pumping instead of leaving them."""
