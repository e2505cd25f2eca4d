"""Scripted failures for reliability tests.

Kinds:

- ``"500"``: answer 500 at once; the request is not processed.
- ``"429"``: answer 429 (with rate-limit headers) at once; not processed.
- ``"500_after"``: process the request (a send is stored and goes out), then answer 500.
- ``"drop"``: process the request, then drop the connection: the caller never hears.
- ``"hang"``: process the request, then never answer: the caller times out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "FaultKind"]

FaultKind = Literal["500", "429", "500_after", "drop", "hang"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    remaining: int
    path: str | None = None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.path is not None and self.path.rstrip("/") != path.rstrip("/"):
            return False
        return self.method is None or self.method.upper() == method

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "path": self.path,
            "method": self.method,
        }


class FaultInjector:
    """Faults wait in order; each matching GHL request uses up one."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self, kind: str, count: int = 1, path: str | None = None, method: str | None = None
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(cast(FaultKind, kind), count, path, method)
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> FaultKind | None:
        if not self._faults:
            return None
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault.kind
        return None

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)
