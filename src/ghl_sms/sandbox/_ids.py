"""Deterministic ids: the n-th id of a kind is always the same string.

GHL ids are 20 alphanumeric characters (``ve9EPM428h8vShlRW1KT``). We hash a per-kind
counter, so a fresh sandbox hands out the same ids on every run and tests can rely on
them, while ids still look random and never collide in practice.
"""

from __future__ import annotations

import hashlib
import string

__all__ = ["make_id", "make_token", "make_uuid"]

_ALPHABET = string.digits + string.ascii_letters
_SALT = "ghl-sms-sandbox"


def _digest(kind: str, n: int) -> int:
    raw = hashlib.blake2b(f"{_SALT}:{kind}:{n}".encode(), digest_size=16).digest()
    return int.from_bytes(raw, "big")


def make_id(kind: str, n: int) -> str:
    """A 20-character alphanumeric id."""
    number = _digest(kind, n)
    chars = []
    for _ in range(20):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def make_uuid(kind: str, n: int) -> str:
    """A UUID-shaped (8-4-4-4-12 hex) id, e.g. for ``webhookId``."""
    h = f"{_digest(kind, n):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def make_token(n: int) -> str:
    """A Private Integration Token look-alike: ``pit-`` and a UUID."""
    return "pit-" + make_uuid("token", n)
