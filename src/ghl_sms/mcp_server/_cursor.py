"""Page cursors the model passes back: opaque, and checked before they reach GHL.

A cursor is the service's own (a GHL message id, a sort value) wrapped with the tool that
issued it. A cursor the server never gave out ("nope", a page number, another tool's) is
refused with what to pass instead, rather than read as an empty page or a crash.
"""

from __future__ import annotations

import base64
import binascii

from ghl_sms.ops.errors import UsageError

__all__ = ["issue", "redeem"]

_PREFIX = "p1."


def issue(tool: str, raw: str | None) -> str | None:
    """The cursor to hand out for ``raw`` (None: there is no next page)."""
    if raw is None:
        return None
    packed = base64.urlsafe_b64encode(f"{tool}\n{raw}".encode()).decode().rstrip("=")
    return _PREFIX + packed


def redeem(tool: str, cursor: str | None) -> str | None:
    """The service's cursor inside ``cursor``; raises ``UsageError`` for one that
    ``tool`` did not issue."""
    if not cursor:
        return None
    raw: str | None = None
    if cursor.startswith(_PREFIX):
        packed = cursor.removeprefix(_PREFIX)
        try:
            text = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        issuer, _, raw = text.partition("\n")
        if issuer != tool or not raw:
            raw = None
    if raw is None:
        shown = repr(cursor) if len(cursor) <= 80 else f"of {len(cursor)} characters"
        raise UsageError(
            f"cursor {shown} is not a next_cursor that {tool} returned. Pass the previous "
            "page's next_cursor unchanged, or leave cursor out for the first page."
        )
    return raw
