"""The state every part of the sandbox's engine shares: the store, the clock, the rate
limiter, faults, carrier overrides, the webhook outbox, and the ids it hands out.

``SandboxEngine`` (``_engine.py``) is assembled from the parts built on this base:
accounts, contacts, webhook events, sending, the carrier's progress and replies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ghl_sms._clock import Clock
from ghl_sms.rules.phones import to_e164 as _to_e164
from ghl_sms.sandbox import carrier
from ghl_sms.sandbox._faults import FaultInjector
from ghl_sms.sandbox._ids import make_id
from ghl_sms.sandbox._ratelimit import Limits, RateLimiter
from ghl_sms.sandbox._webhooks import WebhookOutbox, WebhookSigner
from ghl_sms.sandbox.store import NumberRow, SandboxStore

if TYPE_CHECKING:
    from ghl_sms.sandbox._oauth import OAuthServer

__all__ = ["EngineBase", "JsonDict", "sms_dnd_blocks", "to_e164"]

JsonDict = dict[str, Any]

ID_BLOCK = 1000


@lru_cache(maxsize=4096)
def to_e164(raw: str) -> str | None:
    """``rules.phones.to_e164``, cached: the sandbox sees the same few numbers again and again."""
    return _to_e164(raw)


def sms_dnd_blocks(contact: JsonDict) -> bool:
    """GHL's (conservative) rule: global ``dnd`` or SMS DND active/permanent blocks SMS."""
    if contact.get("dnd") is True:
        return True
    sms = (contact.get("dndSettings") or {}).get("SMS") or {}
    return sms.get("status") in ("active", "permanent")


class EngineBase:
    oauth: OAuthServer  # set by SandboxEngine, which the OAuth server is given

    def __init__(
        self,
        store: SandboxStore,
        clock: Clock,
        *,
        limits: Limits,
        signer: WebhookSigner,
        strict_version: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.limiter = RateLimiter(limits)
        self.faults = FaultInjector()
        self.carrier = carrier.CarrierOverrides()
        self.outbox = WebhookOutbox(signer)
        self.strict_version = strict_version
        self._counters: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._numbers: dict[str, list[NumberRow]] = {}
        self._tokens: dict[str, tuple[str, frozenset[str]] | None] = {}
        self._next_due: float | None = None
        self._due_known = False

    # -- ids --------------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        """The next number of a kind of id. Numbers are reserved in blocks (hi/lo): the
        database only learns the block's end, so a restart continues after it and a fresh
        database always hands out 1, 2, 3..."""
        n = self._counters.get(kind)
        if n is None:
            stored = self.store.get_meta(f"seq:{kind}")
            n = int(stored) if stored is not None else 0
            self._reserved[kind] = n
        n += 1
        self._counters[kind] = n
        if n > self._reserved[kind]:
            self._reserved[kind] = n + ID_BLOCK - 1
            self.store.set_meta(f"seq:{kind}", str(self._reserved[kind]))
        return n

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A store transaction; after a rollback, id blocks are reserved afresh."""
        try:
            with self.store.transaction():
                yield
        except BaseException:
            self._reserved = dict.fromkeys(self._reserved, 0)  # re-persist on next use
            raise

    def new_id(self, kind: str) -> str:
        return make_id(kind, self._next(kind))
