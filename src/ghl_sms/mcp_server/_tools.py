"""The ``sms_*`` tools: sends, reads and cancels here; contacts, history, campaigns and
checks in their own modules. Docstrings and ``Field`` descriptions are the prompts the
model reads on every turn: keep them short, say when to use the tool and what it returns.

The whole ``tools/list`` result must stay within 13 tools and 11,000 characters, so
measure (tests/mcp_server/test_schema.py) before adding words.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from ghl_sms.ghl import NotFoundError
from ghl_sms.mcp_server._args import (
    READS_GHL,
    AllowRepeat,
    Confirmed,
    ContactId,
    ConversationId,
    Ctx,
    Cursor,
    DryRun,
    IdempotencyKey,
    Limit,
    Location,
    MediaUrls,
    MessageId,
    PlainNumber,
    SendAt,
    Text,
    ToNumber,
    Transactional,
)
from ghl_sms.mcp_server._bulk import (
    PlannedBulk,
    bulk_result,
    confirm_bulk,
    plan_bulk,
)
from ghl_sms.mcp_server._campaign import own_campaign, register_campaign
from ghl_sms.mcp_server._check import register_check
from ghl_sms.mcp_server._contacts import register_contacts
from ghl_sms.mcp_server._cursor import issue, redeem
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._history import register_history
from ghl_sms.mcp_server._models import (
    BulkOut,
    CancelResult,
    ConversationOut,
    InboxOut,
    MessageOut,
    SendOut,
    StatusOut,
    ThreadOut,
)
from ghl_sms.mcp_server._numbers import register_numbers
from ghl_sms.mcp_server._optout import record_opt_out
from ghl_sms.mcp_server._send import (
    Confirm,
    PlannedSend,
    confirm_send,
    one_recipient,
    plan_send,
    send_result,
    site_of,
)
from ghl_sms.mcp_server._state import AppState
from ghl_sms.rules.text import MAX_SMS_LENGTH

__all__ = ["THREAD_BODY_LIMIT", "register_tools", "truncate"]

THREAD_BODY_LIMIT = 300
INBOX_BODY_LIMIT = 160
STATUS_BODY_LIMIT = MAX_SMS_LENGTH

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


def truncate(text: str | None, limit: int, message_id: str | None = None) -> str | None:
    """``text`` cut to ``limit`` characters with a note saying how to get the rest."""
    if text is None or len(text) <= limit:
        return text
    rest = f"; sms_status('{message_id}') has all" if message_id else ""
    return f"{text[:limit]}... [{len(text) - limit} more chars{rest}]"


def register_tools(mcp: MCPServer[AppState]) -> None:
    register_contacts(mcp)
    register_history(mcp)
    register_campaign(mcp)
    register_check(mcp)
    register_numbers(mcp)

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
        location: Location = None,
    ) -> SendOut:
        """Text a contact (by name: sms_contacts(query=name) gives contact_id), number or
        conversation, now or at send_at. Preflight (DND, opt-out, quiet hours...) refuses
        blocked sends; the user confirms; a repeat never texts twice."""
        if not isinstance(approval, AcceptedElicitation) or not approval.data.send:
            raise ToolError(
                "The user did not approve: nothing was sent. Don't send it unless they ask."
            )
        with tool_errors():
            if planned.request.dry_run and planned.preview is not None:
                outcome = planned.preview
            else:
                outcome = await planned.site.service.send(planned.request)
        return send_result(outcome)

    @mcp.tool(title="Cancel or stop texts", annotations=_CANCELS)
    async def sms_cancel(
        ctx: Ctx,
        message_id: str | None = None,
        campaign_id: str | None = None,
        opt_out: Annotated[str | None, Field(description="Number or contact id")] = None,
        location: Location = None,
    ) -> CancelResult:
        """Cancel a scheduled message, stop a campaign, or opt_out someone who asked not to
        be texted (only the user can lift it)."""
        if [bool(message_id), bool(campaign_id), opt_out is not None].count(True) != 1:
            raise ToolError(
                "Give one of message_id (a scheduled message), campaign_id or opt_out; "
                "nothing was changed."
            )
        site = await site_of(ctx, location)
        if opt_out is not None:
            with tool_errors():
                return await record_opt_out(site.service, opt_out)
        if campaign_id:
            with tool_errors():
                own_campaign(site, campaign_id)
                await site.bulk.cancel_and_settle(campaign_id)
            return CancelResult(campaign_id=campaign_id, cancelled=True)
        assert message_id is not None
        with tool_errors():
            try:
                done = await site.service.cancel(message_id)
            except NotFoundError as exc:
                raise ToolError(
                    f"Message {message_id} is not scheduled (already sent, already cancelled, "
                    f"or a wrong id); nothing changed. sms_status shows its state. [GHL: {exc}]"
                ) from exc
        return CancelResult(message_id=done.message_id, cancelled=done.cancelled, note=done.message)

    @mcp.tool(title="Message status", annotations=READS_GHL)
    async def sms_status(message_id: MessageId, ctx: Ctx, location: Location = None) -> StatusOut:
        """A message's delivery status; a failure is explained, with what to do."""
        site = await site_of(ctx, location)
        with tool_errors():
            status = await site.service.status(message_id)
        return StatusOut.of(status, truncate(status.body, STATUS_BODY_LIMIT))

    @mcp.tool(title="Conversation thread", annotations=READS_GHL)
    async def sms_thread(
        ctx: Ctx,
        contact_id: ContactId = None,
        to_number: PlainNumber = None,
        conversation_id: ConversationId = None,
        limit: Limit = 20,
        cursor: Cursor = None,
        location: Location = None,
    ) -> ThreadOut:
        """Messages with one contact, newest last (next_cursor: older). Read before replying."""
        site = await site_of(ctx, location)
        with tool_errors():
            one_recipient(
                "the thread is with",
                contact_id=contact_id,
                to_number=to_number,
                conversation_id=conversation_id,
            )
            page = await site.service.thread(
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

    @mcp.tool(title="SMS inbox", annotations=READS_GHL)
    async def sms_inbox(
        ctx: Ctx,
        unread_only: bool = False,
        limit: Limit = 20,
        cursor: Cursor = None,
        location: Location = None,
    ) -> InboxOut:
        """Who wrote in: recent conversations, newest first, unread counts."""
        site = await site_of(ctx, location)
        with tool_errors():
            page = await site.service.inbox(
                unread_only=unread_only, limit=limit, cursor=redeem("sms_inbox", cursor)
            )
        conversations = [
            ConversationOut.of(c, truncate(c.last_message, INBOX_BODY_LIMIT))
            for c in page.conversations
        ]
        return InboxOut.of(conversations, issue("sms_inbox", page.next_cursor))

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
        media_urls: MediaUrls = (),
        location: Location = None,
    ) -> BulkOut:
        """Text a list (contact ids, tag or CSV) one template. Previews counts, skips,
        samples; once the user confirms it sends in the background, paced, once each."""
        engine, runner = planned.site.bulk, planned.site.runner
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
            result = bulk_result(engine, planned.campaign_id, "nothing_to_send", planned.preview)
            engine.discard(planned.campaign_id)  # after reading it: it is gone then
            return result
        with tool_errors():
            engine.start(planned.campaign_id)
        runner.kick()
        return bulk_result(engine, planned.campaign_id, "started", planned.preview)
