"""Verifying GHL webhook deliveries: pure functions, no I/O.

The order is fixed (ghl-api.md §6.2, as stripe does it): the signature over the raw
bytes, then the JSON, then the timestamp window. Replays of a fresh delivery are
refused by the receiver afterwards, against the ids it remembers (``ops.events``).

GHL signs with two schemes, both over the raw request body:

- ``x-ghl-signature``: Ed25519, base64 (64 bytes). The current scheme; HighLevel
  publishes the public key, no SDK ships it.
- ``x-wh-signature``: RSA-SHA256 with PKCS#1 v1.5 padding, base64, under GHL's one
  static 4096-bit key (a copy ships with this package). Legacy; reportedly sunset on
  2026-07-01.

As in both official SDKs, Ed25519 decides whenever its header is present and an
Ed25519 key is configured; the RSA header is consulted only otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ghl_sms.ghl import ConfigError, GhlError

__all__ = [
    "DEFAULT_TOLERANCE",
    "ED25519_HEADER",
    "RSA_HEADER",
    "Reason",
    "Scheme",
    "VerifiedWebhook",
    "WebhookKeys",
    "WebhookVerificationError",
    "ghl_rsa_public_key",
    "load_ed25519_public_key",
    "load_rsa_public_key",
    "parse_timestamp",
    "verify_signature",
    "verify_webhook",
]

ED25519_HEADER = "x-ghl-signature"
RSA_HEADER = "x-wh-signature"
DEFAULT_TOLERANCE = 300.0  # seconds either side of now (GHL's docs: about 5 minutes)

Scheme = Literal["ed25519", "rsa"]
Reason = Literal["bad_signature", "missing_signature", "stale", "duplicate", "malformed"]

_GHL_RSA_PEM = "ghl_webhook_rsa_public_key.pem"
_ED25519_SIGNATURE_BYTES = 64
# An Ed25519 SubjectPublicKeyInfo is this prefix plus the raw 32-byte key.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class WebhookVerificationError(GhlError):
    """A delivery that must not be trusted; ``reason`` says why.

    ``bad_signature``: a signature that does not match the body under any configured key;
    ``missing_signature``: no signature this receiver has a key for; ``stale``: a
    timestamp outside the window; ``duplicate``: a replayed delivery; ``malformed``: a
    signed body that is not a GHL event (not JSON, or no usable timestamp).
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason

    def __repr__(self) -> str:
        return f"WebhookVerificationError(reason={self.reason!r}, message={self.message!r})"


# --- keys ---------------------------------------------------------------------------------


def _text(key: str | bytes) -> str:
    return key.decode("ascii", errors="replace") if isinstance(key, bytes) else key


def load_ed25519_public_key(key: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or from the raw 32 bytes as hex or base64.

    The formats the official SDKs accept for ``WEBHOOK_SIGNATURE_PUBLIC_KEY``; the
    base64 of a DER SubjectPublicKeyInfo (a PEM without its armour) works too.
    Raises ``ConfigError`` for anything else.
    """
    text = _text(key).strip()
    if not text:
        raise ConfigError("The Ed25519 webhook public key is empty.")
    if "-----BEGIN" in text:
        try:
            loaded = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise ConfigError(f"The Ed25519 webhook public key is not valid PEM: {exc}") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise ConfigError(
                f"The webhook public key given for x-ghl-signature is a "
                f"{type(loaded).__name__.lstrip('_')}, not an Ed25519 key."
            )
        return loaded
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is not None and len(raw) == len(_ED25519_SPKI_PREFIX) + 32:
        if raw.startswith(_ED25519_SPKI_PREFIX):
            raw = raw[len(_ED25519_SPKI_PREFIX) :]
    if raw is None or len(raw) != 32:
        raise ConfigError(
            "The Ed25519 webhook public key must be PEM, or the raw 32-byte key as "
            "64 hex digits or base64."
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def load_rsa_public_key(pem: str | bytes) -> RSAPublicKey:
    """An RSA public key from PEM (``-----BEGIN PUBLIC KEY-----``); ``ConfigError`` if not."""
    text = _text(pem).strip()
    try:
        loaded = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise ConfigError(f"The RSA webhook public key is not a valid PEM key: {exc}") from exc
    if not isinstance(loaded, RSAPublicKey):
        raise ConfigError(
            f"The webhook public key given for x-wh-signature is a "
            f"{type(loaded).__name__.lstrip('_')}, not an RSA key."
        )
    return loaded


def ghl_rsa_public_key() -> RSAPublicKey:
    """GHL's published 4096-bit key for ``x-wh-signature`` (a copy ships with ghl-sms)."""
    pem = resources.files(__package__).joinpath(_GHL_RSA_PEM).read_bytes()
    return load_rsa_public_key(pem)


@dataclass(frozen=True)
class WebhookKeys:
    """The public keys deliveries may be signed with; several per scheme for rotations."""

    ed25519: tuple[Ed25519PublicKey, ...] = ()
    rsa: tuple[RSAPublicKey, ...] = ()

    @classmethod
    def load(
        cls,
        *,
        ed25519: Iterable[str | bytes] = (),
        rsa: Iterable[str | bytes] | None = None,
    ) -> WebhookKeys:
        """Keys from text; ``rsa=None`` means GHL's published key, ``rsa=()`` none."""
        rsa_keys = (
            (ghl_rsa_public_key(),)
            if rsa is None
            else tuple(load_rsa_public_key(pem) for pem in rsa)
        )
        return cls(ed25519=tuple(load_ed25519_public_key(key) for key in ed25519), rsa=rsa_keys)

    def __bool__(self) -> bool:
        return bool(self.ed25519 or self.rsa)


# --- the checks ---------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                value = candidate
                break
    value = value.strip() if value is not None else None
    return value or None


def _decode_signature(value: str, header: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "bad_signature", f"The {header} header is not base64."
        ) from None


def _verify_ed25519(raw_body: bytes, signature: bytes, keys: Iterable[Ed25519PublicKey]) -> bool:
    if len(signature) != _ED25519_SIGNATURE_BYTES:
        return False
    for key in keys:
        try:
            key.verify(signature, raw_body)
        except InvalidSignature:
            continue
        return True
    return False


def _verify_rsa(raw_body: bytes, signature: bytes, keys: Iterable[RSAPublicKey]) -> bool:
    for key in keys:
        try:
            key.verify(signature, raw_body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return True
    return False


def verify_signature(raw_body: bytes, headers: Mapping[str, str], keys: WebhookKeys) -> Scheme:
    """Check the signature over the raw body; return the scheme that vouched for it.

    Raises ``WebhookVerificationError`` with reason ``bad_signature`` or
    ``missing_signature``. Header names are matched case-insensitively.
    """
    ed25519_value = _header(headers, ED25519_HEADER)
    rsa_value = _header(headers, RSA_HEADER)
    if ed25519_value is not None and keys.ed25519:
        signature = _decode_signature(ed25519_value, ED25519_HEADER)
        if _verify_ed25519(raw_body, signature, keys.ed25519):
            return "ed25519"
        raise WebhookVerificationError(
            "bad_signature", f"The {ED25519_HEADER} signature does not match the body."
        )
    if rsa_value is not None and keys.rsa:
        signature = _decode_signature(rsa_value, RSA_HEADER)
        if _verify_rsa(raw_body, signature, keys.rsa):
            return "rsa"
        raise WebhookVerificationError(
            "bad_signature", f"The {RSA_HEADER} signature does not match the body."
        )
    if ed25519_value is not None:
        message = f"Got {ED25519_HEADER} but no Ed25519 public key is configured"
        message += f" and no {RSA_HEADER} came with it." if keys.rsa else "."
    elif rsa_value is not None:
        message = f"Got {RSA_HEADER} but the legacy RSA scheme is switched off."
    else:
        message = f"The delivery is unsigned (no {ED25519_HEADER} or {RSA_HEADER} header)."
    raise WebhookVerificationError("missing_signature", message)


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from an envelope ``timestamp``: ISO 8601, or epoch s/ms as a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value) / 1000.0 if abs(value) >= 1e11 else float(value)
        except OverflowError:
            return None
        return seconds if math.isfinite(seconds) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return parse_timestamp(int(text))
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class VerifiedWebhook:
    """A delivery whose signature and timestamp checked out."""

    scheme: Scheme
    payload: dict[str, Any]
    event_type: str
    timestamp: float
    webhook_id: str | None
    location_id: str | None
    dedupe_key: str
    """``webhookId``, or the body's SHA-256 when GHL sent no id."""


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def verify_webhook(
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    keys: WebhookKeys,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> VerifiedWebhook:
    """Signature, then JSON, then the timestamp window; raise ``WebhookVerificationError``.

    A delivery is fresh while its ``timestamp`` lies within ``tolerance`` seconds of
    ``now`` either way. Refusing replays inside the window is the caller's part, with
    ``dedupe_key`` (the receiver remembers keys in ``ops.events``).
    """
    scheme = verify_signature(raw_body, headers, keys)
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookVerificationError("malformed", "The signed body is not JSON.") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("malformed", "The signed body is not a JSON object.")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookVerificationError("malformed", "The event has no type.")
    timestamp = parse_timestamp(payload.get("timestamp"))
    if timestamp is None:
        # Without a timestamp a captured delivery could be replayed forever.
        raise WebhookVerificationError("malformed", "The event has no usable timestamp.")
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            "stale",
            f"The event's timestamp is {abs(now - timestamp):.0f} s away from now "
            f"(allowed: {tolerance:.0f} s).",
        )
    webhook_id = _optional_str(payload.get("webhookId"))
    dedupe_key = webhook_id or "sha256:" + hashlib.sha256(raw_body).hexdigest()
    return VerifiedWebhook(
        scheme=scheme,
        payload=payload,
        event_type=event_type,
        timestamp=timestamp,
        webhook_id=webhook_id,
        location_id=_optional_str(payload.get("locationId")),
        dedupe_key=dedupe_key,
    )
