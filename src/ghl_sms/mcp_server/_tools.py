"""The eight ``sms_*`` tools. Docstrings and ``Field`` descriptions are the prompts the
model reads on every turn: keep them short, say when to use the tool and what it returns.

Two more (bulk send, bulk status) will join them; the whole ``tools/list`` must stay
under 10,000 characters, so measure (tests/mcp_server/test_schema.py) before adding words.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, Context, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from ghl_sms.ghl import NotFoundError
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import (
    CancelResult,
    CheckOut,
    ConversationOut,
    InboxOut,
    MessageOut,
    NumberOut,
    NumbersOut,
    PreviewOut,
    SendOut,
    StatusOut,
    ThreadOut,
    UcsChar,
)
from ghl_sms.mcp_server._send import (
    Confirm,
    PlannedSend,
    confirm_send,
    plan_send,
    send_result,
    state_of,
)
from ghl_sms.mcp_server._state import AppState
from ghl_sms.rules.segments import count_segments, gsm_suggestion
from ghl_sms.rules.text import MAX_SMS_LENGTH, message_length

__all__ = ["THREAD_BODY_LIMIT", "register_tools", "truncate"]

THREAD_BODY_LIMIT = 300
INBOX_BODY_LIMIT = 160
STATUS_BODY_LIMIT = MAX_SMS_LENGTH

Ctx = Context[AppState, Any]
Text = Annotated[str, Field(max_length=MAX_SMS_LENGTH)]
ContactId = str | None
ToNumber = Annotated[str | None, Field(description="E.164: +15551234567")]
ConversationId = str | None
MessageId = Annotated[str, Field(min_length=1)]
Limit = Annotated[int, Field(ge=1, le=50)]
Cursor = Annotated[str | None, Field(description="next_cursor of the last page")]
MediaUrls = Annotated[
    tuple[str, ...], Field(max_length=10, description="Public URLs; makes an MMS")
]
SendAt = Annotated[str | None, Field(description="ISO time with offset, or a delay: 30m, 2h, 1d")]
Transactional = Annotated[bool, Field(description="Not marketing: no quiet hours")]
DryRun = Annotated[bool, Field(description="Preview only")]
Confirmed = Annotated[bool, Field(description="Only once the user approved the preview")]
IdempotencyKey = Annotated[
    str | None, Field(description="Same key, same send (default: from content)")
]
AllowRepeat = Annotated[
    bool, Field(description="Same text again on purpose (with a new idempotency_key)")
]
Planned = Annotated[PlannedSend, Resolve(plan_send)]
Approval = Annotated[ElicitationResult[Confirm], Resolve(confirm_send)]

_SENDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
_CANCELS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
_READS_GHL = ToolAnnotations(read_only_hint=True, open_world_hint=True)
_LOCAL = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def truncate(text: str | None, limit: int, message_id: str | None = None) -> str | None:
    """``text`` cut to ``limit`` characters with a note saying how to get the rest."""
    if text is None or len(text) <= limit:
        return text
    rest = f"; sms_status('{message_id}') has all" if message_id else ""
    return f"{text[:limit]}... [{len(text) - limit} more chars{rest}]"


def register_tools(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Send SMS/MMS", annotations=_SENDS)
    async def sms_send(
        text: Text,
        ctx: Ctx,
        planned: Planned,
        approval: Approval,
        contact_id: ContactId = None,
        to_number: ToNumber = None,
        conversation_id: ConversationId = None,
        media_urls: MediaUrls = (),
        send_at: SendAt = None,
        from_number: str | None = None,
        transactional: Transactional = False,
        dry_run: DryRun = False,
        confirmed: Confirmed = False,
        idempotency_key: IdempotencyKey = None,
        allow_repeat: AllowRepeat = False,
    ) -> SendOut:
        """Text one contact, number or conversation, now or at send_at. Runs the preflight
        (DND, opt-out, number, quiet hours) and refuses a blocked send with the reasons. The
        user confirms each real send. A repeated call never texts twice (outcome duplicate).
        """
        if not isinstance(approval, AcceptedElicitation) or not approval.data.send:
            raise ToolError(
                "The user did not approve: nothing was sent. Don't send it unless they ask."
            )
        state = state_of(ctx)
        with tool_errors():
            if planned.request.dry_run and planned.preview is not None:
                outcome = planned.preview
            else:
                outcome = await state.service.send(planned.request)
        return send_result(outcome)

    @mcp.tool(title="Cancel scheduled SMS", annotations=_CANCELS)
    async def sms_cancel(message_id: MessageId, ctx: Ctx) -> CancelResult:
        """Cancel a scheduled message (message_id from sms_send) before it goes out."""
        with tool_errors():
            try:
                done = await state_of(ctx).service.cancel(message_id)
            except NotFoundError as exc:
                raise ToolError(
                    f"Message {message_id} is not scheduled (already sent, already cancelled, "
                    f"or a wrong id); nothing changed. sms_status shows its state. [GHL: {exc}]"
                ) from exc
        return CancelResult(message_id=done.message_id, cancelled=done.cancelled, note=done.message)

    @mcp.tool(title="Message status", annotations=_READS_GHL)
    async def sms_status(message_id: MessageId, ctx: Ctx) -> StatusOut:
        """Delivery status of a message; a failure comes with its meaning and what to do."""
        with tool_errors():
            status = await state_of(ctx).service.status(message_id)
        return StatusOut.of(status, truncate(status.body, STATUS_BODY_LIMIT))

    @mcp.tool(title="Conversation thread", annotations=_READS_GHL)
    async def sms_thread(
        ctx: Ctx,
        contact_id: ContactId = None,
        to_number: ToNumber = None,
        conversation_id: ConversationId = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> ThreadOut:
        """Messages with one contact, newest last (next_cursor: older). Read before replying."""
        if not (contact_id or to_number or conversation_id):
            raise ToolError("Say whose thread: contact_id, to_number or conversation_id.")
        with tool_errors():
            page = await state_of(ctx).service.thread(
                contact_id=contact_id,
                to=to_number,
                conversation_id=conversation_id,
                limit=limit,
                cursor=cursor,
            )
        messages = [
            MessageOut.of(m, truncate(m.body, THREAD_BODY_LIMIT, m.id)) for m in page.messages
        ]
        return ThreadOut.of(page, messages)

    @mcp.tool(title="SMS inbox", annotations=_READS_GHL)
    async def sms_inbox(
        ctx: Ctx,
        unread_only: bool = False,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> InboxOut:
        """Who wrote in: recent conversations, newest first, unread counts, last message."""
        with tool_errors():
            page = await state_of(ctx).service.inbox(
                unread_only=unread_only, limit=limit, cursor=cursor
            )
        conversations = [
            ConversationOut.of(c, truncate(c.last_message, INBOX_BODY_LIMIT))
            for c in page.conversations
        ]
        return InboxOut.of(page, conversations)

    @mcp.tool(title="Check recipient", annotations=_READS_GHL)
    async def sms_check(
        ctx: Ctx,
        contact_id: ContactId = None,
        to_number: ToNumber = None,
        text: Annotated[str | None, Field(max_length=MAX_SMS_LENGTH)] = None,
        transactional: Transactional = False,
    ) -> CheckOut:
        """Can this contact or number be texted now (DND, opt-out, number, quiet hours)?
        Sends nothing; notes say why and what to do."""
        if not (contact_id or to_number):
            raise ToolError("Say who to check: contact_id or to_number.")
        with tool_errors():
            result = await state_of(ctx).service.check(
                contact_id=contact_id, to=to_number, text=text, transactional=transactional
            )
        return CheckOut.of(result)

    @mcp.tool(title="Sending numbers", annotations=_READS_GHL)
    async def sms_numbers(ctx: Ctx) -> NumbersOut:
        """Sending numbers (for from_number): SMS/MMS capability, which is the default."""
        with tool_errors():
            numbers = await state_of(ctx).service.numbers()
        return NumbersOut(numbers=[NumberOut.of(n) for n in numbers])

    @mcp.tool(title="Preview segments", annotations=_LOCAL)
    async def sms_preview(text: Annotated[str, Field(max_length=5000)]) -> PreviewOut:
        """Encoding and billed parts of a text; characters forcing UCS-2 (70 a part, not
        160) and plain replacements. Offline."""
        report = count_segments(text)
        suggestion = gsm_suggestion(text, report)
        saves = report.encoding == "UCS-2" and suggestion.segments_saved > 0
        return PreviewOut(
            encoding=report.encoding,
            parts=report.segments,
            characters=report.units,
            remaining_in_last=report.remaining_in_last,
            too_long=message_length(text) > MAX_SMS_LENGTH,
            forcing_ucs2=[
                UcsChar(char=c.char, count=c.count, replacement=c.replacement)
                for c in report.non_gsm_characters
            ]
            or None,
            gsm_text=suggestion.text if saves else None,
            parts_if_replaced=suggestion.segments_after if saves else None,
        )
