"""Signing webhook deliveries the way GHL does, with your own test keys.

For tests and local tools (the sandbox, a receiver's test suite): build an event with
GHL's envelope, serialise it once to compact JSON, and sign those exact bytes::

    key = Ed25519PrivateKey.generate()
    body = encode_event(event("InboundMessage", {"body": "STOP"}, now=clock.now()))
    headers = {"content-type": "application/json", ED25519_HEADER: sign_ed25519(body, key)}

The receiver is then configured with ``key.public_key()``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ghl_sms.webhooks._verify import ED25519_HEADER, RSA_HEADER

__all__ = [
    "encode_event",
    "event",
    "iso_timestamp",
    "sign_ed25519",
    "sign_rsa",
    "signed_headers",
]


def sign_ed25519(body: bytes, private_key: Ed25519PrivateKey) -> str:
    """The ``x-ghl-signature`` value for ``body``: base64 of the Ed25519 signature."""
    return base64.b64encode(private_key.sign(body)).decode("ascii")


def sign_rsa(body: bytes, private_key: RSAPrivateKey) -> str:
    """The ``x-wh-signature`` value for ``body``: base64 of RSA-SHA256, PKCS#1 v1.5."""
    signature = private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def signed_headers(
    body: bytes,
    *,
    ed25519: Ed25519PrivateKey | None = None,
    rsa: RSAPrivateKey | None = None,
) -> dict[str, str]:
    """Request headers for a delivery signed with whichever keys are given."""
    headers = {"content-type": "application/json"}
    if ed25519 is not None:
        headers[ED25519_HEADER] = sign_ed25519(body, ed25519)
    if rsa is not None:
        headers[RSA_HEADER] = sign_rsa(body, rsa)
    return headers


def iso_timestamp(epoch_seconds: float) -> str:
    """``2026-01-01T00:00:00.000Z``: the envelope's timestamp format."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    event_type: str,
    fields: Mapping[str, Any],
    *,
    now: float,
    location_id: str = "ve9EPM428h8vShlRW1KT",
    webhook_id: str | None = None,
    app_id: str = "65f0c0ffee0000000000test",
    version_id: str = "65f0c0ffee0000000000vers",
) -> dict[str, Any]:
    """An event in GHL's envelope (ghl-api.md §6.1); ``fields`` override the envelope."""
    return {
        "type": event_type,
        "locationId": location_id,
        "appId": app_id,
        "versionId": version_id,
        "timestamp": iso_timestamp(now),
        "webhookId": webhook_id or str(uuid.uuid4()),
        **fields,
    }


def encode_event(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON, as GHL sends it; sign these exact bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
