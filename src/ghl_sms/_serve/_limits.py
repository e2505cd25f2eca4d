"""How long a client may take and how many may connect: the bounds every server shares."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServeLimits"]


@dataclass(frozen=True)
class ServeLimits:
    """Bounds against slow or numerous clients (slowloris and friends).

    ``header_timeout``: seconds a request's line and headers may take to arrive, counted
    from the connection (or the previous response); then 408 and the connection closes.
    ``body_timeout``: seconds the whole request body may take once the headers are in;
    then 408. ``max_connections``: open connections served at once; one more gets 503
    and is closed. ``keep_alive``: seconds an idle connection stays open between requests.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 100
    keep_alive: int = 5

    def __post_init__(self) -> None:
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.keep_alive < 1:
            raise ValueError("keep_alive must be at least 1 second")
