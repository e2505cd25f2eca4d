"""When to repeat a failed request, and how long to wait first.

GHL has no idempotency key, so a send POST is repeated only when GHL provably did not
act on it: a 429 (refused before processing) or a connection that never opened. Reads
and other idempotent calls also retry on 502/503/504 and timeouts, with jittered
exponential backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]

_RETRYABLE_FOR_IDEMPOTENT = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0

    def should_retry(
        self, *, attempt: int, status: int | None, reached_server: bool, idempotent: bool
    ) -> bool:
        """``attempt`` counts retries already made; ``status`` is None without a response."""
        if attempt >= self.max_retries:
            return False
        if status is None:
            return idempotent or not reached_server
        if status == 429:
            return True
        return idempotent and status in _RETRYABLE_FOR_IDEMPOTENT

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        backoff = min(self.initial_delay * 2**attempt, self.max_delay)
        jittered = backoff * (0.5 + rng.random() / 2)  # in [backoff/2, backoff]
        if retry_after is not None:
            # The server said when; add a little jitter so that many tasks don't stampede.
            return float(retry_after + rng.random() * self.initial_delay)
        return float(max(jittered, self.initial_delay / 2))
