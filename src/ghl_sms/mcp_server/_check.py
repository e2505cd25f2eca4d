"""``sms_check``: before a send, the recipient and the text.

With a recipient it asks the service's preflight (DND, opt-out, number, quiet hours,
and the text's cost when given). With only a text it works offline: how the text is
encoded, how many billed parts it takes, which characters force UCS-2 (70 characters
a part instead of 160) and the plain replacement that saves parts.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from pydantic import Field

from ghl_sms.mcp_server._args import (
    READS_GHL,
    ContactId,
    Ctx,
    Location,
    PlainNumber,
    Transactional,
)
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import CheckOut, NoteOut
from ghl_sms.mcp_server._send import one_recipient, site_of
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops.errors import UsageError
from ghl_sms.rules.segments import GsmSuggestion, SegmentReport, count_segments, gsm_suggestion
from ghl_sms.rules.text import MAX_SMS_LENGTH

__all__ = ["register_check", "text_check"]

CheckText = Annotated[str | None, Field(max_length=MAX_SMS_LENGTH)]


def _saving(text: str, report: SegmentReport) -> GsmSuggestion | None:
    suggestion = gsm_suggestion(text, report)
    return suggestion if report.encoding == "UCS-2" and suggestion.segments_saved > 0 else None


def text_check(text: str) -> CheckOut:
    """The text alone, offline."""
    report = count_segments(text)
    saving = _saving(text, report)
    notes = []
    if saving or (report.encoding == "UCS-2" and report.segments > 1):
        chars = ", ".join(
            f"{c.char!r} x{c.count}" + (f" (use {c.replacement!r})" if c.replacement else "")
            for c in report.non_gsm_characters
        )
        fix = (
            f"; gsm_text replaces them: {saving.segments_after} part(s) instead of "
            f"{saving.segments_before}."
            if saving
            else "."
        )
        notes.append(
            NoteOut(
                code="ucs2",
                level="warn",
                message=f"{chars} force Unicode (UCS-2, 70 characters a part, not 160){fix}",
            )
        )
    return CheckOut(
        verdict="warn" if notes else "ok",
        notes=notes or None,
        encoding=report.encoding,
        parts=report.segments,
        gsm_text=saving.text if saving else None,
    )


def register_check(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Check before texting", annotations=READS_GHL)
    async def sms_check(
        ctx: Ctx,
        contact_id: ContactId = None,
        to_number: PlainNumber = None,
        text: CheckText = None,
        transactional: Transactional = False,
        location: Location = None,
    ) -> CheckOut:
        """Can this contact or number be texted now (DND, opt-out, number, quiet hours)?
        text adds parts and UCS-2 fixes (alone: offline)."""
        with tool_errors():
            if contact_id is None and to_number is None and text is not None:
                return text_check(text)
            if not (contact_id or to_number) and text is None:
                raise UsageError(
                    "Say who to check: contact_id or to_number (sms_contacts finds a "
                    "contact by name), or give text to check the text alone."
                )
            one_recipient("to check", contact_id=contact_id, to_number=to_number)
            site = await site_of(ctx, location)
            result = await site.service.check(
                contact_id=contact_id, to=to_number, text=text, transactional=transactional
            )
        out = CheckOut.of(result)
        if text is not None:
            saving = _saving(text, count_segments(text))
            out = out.model_copy(update={"gsm_text": saving.text if saving else None})
        return out
