"""Argument types and annotations the tools share (their ``Field`` descriptions are
prompts the model reads on every turn: keep them short)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import ToolAnnotations
from pydantic import Field

from ghl_sms.mcp_server._state import AppState
from ghl_sms.rules.text import MAX_SMS_LENGTH

__all__ = [
    "LOCAL",
    "READS_GHL",
    "AllowRepeat",
    "Confirmed",
    "ContactId",
    "ConversationId",
    "Ctx",
    "Cursor",
    "DryRun",
    "IdempotencyKey",
    "Limit",
    "Location",
    "MediaUrls",
    "MessageId",
    "PlainNumber",
    "SendAt",
    "Text",
    "ToNumber",
    "Transactional",
]

Ctx = Context[AppState, Any]
Text = Annotated[str, Field(max_length=MAX_SMS_LENGTH)]
ContactId = str | None
ToNumber = Annotated[str | None, Field(description="E.164: +15551234567")]
ConversationId = str | None
MessageId = Annotated[str, Field(min_length=1)]
Limit = Annotated[int, Field(ge=1, le=50)]
Location = str | None
"""The sub-account: a name or id from ``sms_numbers`` (explained there once, to keep
every tool's schema short); None: the server's default."""
Cursor = str | None
"""The last page's ``next_cursor`` (the name says it; a wrong one is refused, saying so)."""
PlainNumber = str | None
"""A phone number where ``ToNumber``'s example is already on the send tool."""
MediaUrls = Annotated[
    tuple[str, ...], Field(max_length=10, description="Public URLs; makes an MMS")
]
SendAt = Annotated[str | None, Field(description="ISO time with offset, or 30m/2h/1d")]
Transactional = Annotated[bool, Field(description="Not marketing: no quiet hours")]
DryRun = Annotated[bool, Field(description="Preview only")]
Confirmed = Annotated[bool, Field(description="Only after the user approved")]
IdempotencyKey = Annotated[str | None, Field(description="Same key, same send")]
AllowRepeat = Annotated[bool, Field(description="Resend on purpose")]
"""(With a new idempotency_key: the refusal says so, the schema needn't.)"""

READS_GHL = ToolAnnotations(read_only_hint=True, open_world_hint=True)
LOCAL = ToolAnnotations(read_only_hint=True, open_world_hint=False)
