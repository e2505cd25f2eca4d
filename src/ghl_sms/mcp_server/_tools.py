"""The ten ``sms_*`` tools. Docstrings and ``Field`` descriptions are the prompts the
model reads on every turn: keep them short, say when to use the tool and what it returns.

The whole ``tools/list`` (ten tools, the most an assistant should weigh) must stay under
10,000 characters, so measure (tests/mcp_server/test_schema.py) before adding words.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, Context, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from ghl_sms.ghl import NotFoundError
from ghl_sms.mcp_server._bulk import (
    PlannedBulk,
    bulk_result,
    confirm_bulk,
    plan_bulk,
    status_result,
)
from ghl_sms.mcp_server._cursor import issue, redeem
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import (
    BulkOut,
    BulkStatusOut,
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
    one_recipient,
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
SendAt = Annotated[str | None, Field(description="ISO time with offset, or 30m/2h/1d")]
Transactional = Annotated[bool, Field(description="Not marketing: no quiet hours")]
DryRun = Annotated[bool, Field(description="Preview only")]
Confirmed = Annotated[bool, Field(description="Only after the user approved")]
IdempotencyKey = Annotated[str | None, Field(description="Same key, same send")]
AllowRepeat = Annotated[bool, Field(description="Repeat on purpose (with a new idempotency_key)")]
Planned = Annotated[PlannedSend, Resolve(plan_send)]
PlannedCampaign = Annotated[PlannedBulk, Resolve(plan_bulk)]
CampaignApproval = Annotated[ElicitationResult[Confirm], Resolve(confirm_bulk)]
Template = Annotated[
    str, Field(max_length=MAX_SMS_LENGTH, description="Merge fields: {first_name|there}")
]
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
        ignore_quiet_hours: bool = False,
        dry_run: DryRun = False,
        confirmed: Confirmed = False,
        idempotency_key: IdempotencyKey = None,
        allow_repeat: AllowRepeat = False,
    ) -> SendOut:
        """Text a contact, number or conversation, now or at send_at. Preflight first (DND,
        opt-out, number, quiet hours: blocked sends are refused with reasons); the user
        confirms; a repeated call never texts twice."""
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

    @mcp.tool(title="Cancel scheduled SMS or campaign", annotations=_CANCELS)
    async def sms_cancel(
        ctx: Ctx, message_id: str | None = None, campaign_id: str | None = None
    ) -> CancelResult:
        """Cancel a scheduled message before it goes out, or stop a campaign (its unsent
        recipients are skipped)."""
        state = state_of(ctx)
        if bool(message_id) == bool(campaign_id):
            raise ToolError("Give message_id (a scheduled message) or campaign_id, not both.")
        if campaign_id:
            assert state.bulk is not None
            with tool_errors():
                state.bulk.cancel(campaign_id)
            return CancelResult(campaign_id=campaign_id, cancelled=True)
        assert message_id is not None
        with tool_errors():
            try:
                done = await state.service.cancel(message_id)
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
        with tool_errors():
            one_recipient(
                "the thread is with",
                contact_id=contact_id,
                to_number=to_number,
                conversation_id=conversation_id,
            )
            page = await state_of(ctx).service.thread(
                contact_id=contact_id,
                to=to_number,
                conversation_id=conversation_id,
                limit=limit,
                cursor=redeem("sms_thread", cursor),
            )
        messages = [
            MessageOut.of(m, truncate(m.body, THREAD_BODY_LIMIT, m.id)) for m in page.messages
        ]
        return ThreadOut.of(page, messages, issue("sms_thread", page.next_cursor))

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
                unread_only=unread_only, limit=limit, cursor=redeem("sms_inbox", cursor)
            )
        conversations = [
            ConversationOut.of(c, truncate(c.last_message, INBOX_BODY_LIMIT))
            for c in page.conversations
        ]
        return InboxOut.of(conversations, issue("sms_inbox", page.next_cursor))

    @mcp.tool(title="Check recipient", annotations=_READS_GHL)
    async def sms_check(
        ctx: Ctx,
        contact_id: ContactId = None,
        to_number: ToNumber = None,
        text: Annotated[str | None, Field(max_length=MAX_SMS_LENGTH)] = None,
        transactional: Transactional = False,
    ) -> CheckOut:
        """Can this contact or number be texted now (DND, opt-out, number, quiet hours)?
        Sends nothing; notes say why."""
        with tool_errors():
            one_recipient("to check", contact_id=contact_id, to_number=to_number)
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

    @mcp.tool(title="Send to a list", annotations=_SENDS)
    async def sms_bulk_send(
        template: Template,
        ctx: Ctx,
        planned: PlannedCampaign,
        approval: CampaignApproval,
        contact_ids: list[str] | None = None,
        tag: str | None = None,
        csv_path: Annotated[str | None, Field(description="phone or contact_id column")] = None,
        from_number: str | None = None,
        transactional: Transactional = False,
        per_minute: Annotated[int | None, Field(ge=1, description="Carrier cap")] = None,
        dry_run: DryRun = False,
        confirmed: Confirmed = False,
        campaign_key: Annotated[str | None, Field(description="Same key, same campaign")] = None,
    ) -> BulkOut:
        """Text a list one template (contact ids, a tag or a CSV). Previews counts, skips,
        samples; once the user confirms it sends in the background, paced, once each."""
        state = state_of(ctx)
        engine, runner = state.bulk, state.runner
        assert engine is not None and runner is not None
        if planned.preview is None:
            return bulk_result(engine, planned.campaign_id, "already_started", None)
        if planned.dry_run:
            result = bulk_result(engine, planned.campaign_id, "dry_run", planned.preview)
            engine.discard(planned.campaign_id)
            return result
        if not isinstance(approval, AcceptedElicitation) or not approval.data.send:
            engine.discard(planned.campaign_id)
            raise ToolError("The user did not approve: nothing was sent or started.")
        if planned.preview.would_send == 0:
            engine.discard(planned.campaign_id)
            return bulk_result(engine, planned.campaign_id, "nothing_to_send", planned.preview)
        with tool_errors():
            engine.start(planned.campaign_id)
        runner.kick()
        return bulk_result(engine, planned.campaign_id, "started", planned.preview)

    @mcp.tool(title="Campaign progress", annotations=_LOCAL)
    async def sms_bulk_status(campaign_id: str, ctx: Ctx) -> BulkStatusOut:
        """Campaign progress: sent, skipped, failed, left, rate, ETA, what it waits for."""
        engine = state_of(ctx).bulk
        assert engine is not None
        with tool_errors():
            return status_result(engine, campaign_id)

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
            too_long=message_length(text) > MAX_SMS_LENGTH,
            forcing_ucs2=[
                UcsChar(char=c.char, count=c.count, replacement=c.replacement)
                for c in report.non_gsm_characters
            ]
            or None,
            gsm_text=suggestion.text if saves else None,
            parts_if_replaced=suggestion.segments_after if saves else None,
        )
