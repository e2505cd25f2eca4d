"""Webhook events: signing with the sandbox's own keys, queueing and delivery.

Every event is serialised once to compact JSON and signed over those exact bytes with
both of GHL's schemes:

- ``x-wh-signature``: RSA-SHA256, PKCS#1 v1.5, base64. GHL uses a 4096-bit key; the
  sandbox uses 2048 bits to keep key generation and signing fast.
- ``x-ghl-signature``: Ed25519, base64.

Delivery follows GHL: one POST per target; a 429 answer is retried every 10 minutes up
to 6 times; a 5xx or a network error is not retried.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

__all__ = ["Delivery", "WebhookOutbox", "WebhookSigner", "WebhookTarget"]

logger = logging.getLogger(__name__)

RSA_BITS = 2048
RETRY_AFTER_429 = 600.0
MAX_RETRIES = 6
LOG_SIZE = 1000

_PROCESS_KEYS: tuple[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey] | None = None


class WebhookSigner:
    def __init__(self, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> None:
        self._rsa = rsa_key
        self._ed = ed_key

    @classmethod
    def shared(cls) -> WebhookSigner:
        """A key pair generated once per process (RSA generation costs ~0.1 s)."""
        global _PROCESS_KEYS
        if _PROCESS_KEYS is None:
            _PROCESS_KEYS = (
                rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS),
                ed25519.Ed25519PrivateKey.generate(),
            )
        return cls(*_PROCESS_KEYS)

    @classmethod
    def from_pems(cls, rsa_pem: str, ed_pem: str) -> WebhookSigner:
        rsa_key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
        ed_key = serialization.load_pem_private_key(ed_pem.encode(), password=None)
        if not isinstance(rsa_key, rsa.RSAPrivateKey) or not isinstance(
            ed_key, ed25519.Ed25519PrivateKey
        ):
            raise ValueError("stored webhook keys have the wrong type")
        return cls(rsa_key, ed_key)

    def private_pems(self) -> tuple[str, str]:
        def pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()

        return pem(self._rsa), pem(self._ed)

    def public_keys(self) -> dict[str, str]:
        def pem(key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> str:
            return key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()

        return {"ed25519": pem(self._ed.public_key()), "rsa": pem(self._rsa.public_key())}

    def sign(self, body: bytes) -> dict[str, str]:
        rsa_sig = self._rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())
        ed_sig = self._ed.sign(body)
        return {
            "x-wh-signature": base64.b64encode(rsa_sig).decode(),
            "x-ghl-signature": base64.b64encode(ed_sig).decode(),
        }


@dataclass
class WebhookTarget:
    id: int
    url: str
    events: frozenset[str] | None = None
    transport: httpx2.AsyncBaseTransport | None = None
    client: httpx2.AsyncClient | None = field(default=None, repr=False)

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "events": None if self.events is None else sorted(self.events),
            "inProcess": self.transport is not None,
        }


@dataclass
class Delivery:
    target: WebhookTarget
    event_type: str
    webhook_id: str
    body: bytes
    not_before: float
    attempts: int = 0


class WebhookOutbox:
    """Events waiting for delivery, plus a bounded log of what happened to each."""

    def __init__(self, signer: WebhookSigner) -> None:
        self.signer = signer
        self.targets: list[WebhookTarget] = []
        self.queue: deque[Delivery] = deque()
        self._events: deque[dict[str, Any] | Callable[[], dict[str, Any]]] = deque(maxlen=LOG_SIZE)
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._next_target_id = 1

    def add_target(
        self,
        url: str,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        events: frozenset[str] | None = None,
    ) -> WebhookTarget:
        target = WebhookTarget(self._next_target_id, url, events, transport)
        self._next_target_id += 1
        self.targets.append(target)
        return target

    async def remove_target(self, target_id: int | None = None) -> None:
        """Remove one target, or all of them when ``target_id`` is None."""
        keep = []
        for target in self.targets:
            if target_id is None or target.id == target_id:
                if target.client is not None:
                    await target.client.aclose()
            else:
                keep.append(target)
        self.targets = keep
        self.queue = deque(d for d in self.queue if d.target in keep)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The last events emitted, oldest first (delivered or not)."""
        return [event if isinstance(event, dict) else event() for event in self._events]

    def clear_events(self) -> None:
        self._events.clear()

    def emit_lazy(self, event_type: str, build: Callable[[], dict[str, Any]], now: float) -> None:
        """Like ``emit()``, but the payload is only built if a target wants it or someone
        reads ``events``; ``build`` must be pure."""
        if any(target.wants(event_type) for target in self.targets):
            self.emit(build(), now)
        else:
            self._events.append(build)

    def emit(self, payload: dict[str, Any], now: float) -> None:
        """Record an event and queue it for every interested target."""
        self._events.append(payload)
        if not self.targets:
            return
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        for target in self.targets:
            if target.wants(payload["type"]):
                self.queue.append(
                    Delivery(target, payload["type"], payload["webhookId"], body, now)
                )

    async def deliver(self, now: float) -> int:
        """Send every delivery that is due; returns how many were attempted."""
        attempted = 0
        for _ in range(len(self.queue)):
            delivery = self.queue.popleft()
            if delivery.not_before > now:
                self.queue.append(delivery)
                continue
            attempted += 1
            await self._attempt(delivery, now)
        return attempted

    async def _attempt(self, delivery: Delivery, now: float) -> None:
        target = delivery.target
        if target.client is None:
            target.client = httpx2.AsyncClient(transport=target.transport, timeout=10.0)
        headers = {"content-type": "application/json", **self.signer.sign(delivery.body)}
        delivery.attempts += 1
        status: int | None = None
        error: str | None = None
        try:
            response = await target.client.post(target.url, content=delivery.body, headers=headers)
            status = response.status_code
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("webhook %s to %s failed: %s", delivery.webhook_id, target.url, error)
        retry = status == 429 and delivery.attempts <= MAX_RETRIES
        self.log.append(
            {
                "webhookId": delivery.webhook_id,
                "type": delivery.event_type,
                "url": target.url,
                "attempt": delivery.attempts,
                "status": status,
                "error": error,
                "willRetry": retry,
            }
        )
        if retry:
            delivery.not_before = now + RETRY_AFTER_429
            self.queue.append(delivery)

    async def aclose(self) -> None:
        for target in self.targets:
            if target.client is not None:
                await target.client.aclose()
                target.client = None
