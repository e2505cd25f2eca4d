"""``sms_campaign``: list campaigns, follow one, pause it, resume it.

Pausing only stops new sends, so it needs no confirmation. Resuming sends texts again,
often after a guard paused the campaign for a reason (failures or opt-outs running
high, the spend cap): the user confirms it like a send, seeing why it paused.
``sms_cancel(campaign_id=...)`` stops a campaign for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ghl_sms.mcp_server._args import Confirmed, Ctx, Location
from ghl_sms.mcp_server._bulk import status_result
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import BulkStatusOut, CampaignsOut
from ghl_sms.mcp_server._send import Confirm, ask_approval, site_of, state_of
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops.errors import UsageError

if TYPE_CHECKING:  # the bulk engine is imported when a location opens
    from ghl_sms.mcp_server._locations import Site
    from ghl_sms.ops.bulk import BulkEngine

__all__ = ["LIST_LIMIT", "own_campaign", "register_campaign"]

LIST_LIMIT = 20
"""``list`` shows the newest campaigns, up to this many."""

Action = Literal["list", "status", "pause", "resume"]

_CHANGES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


def own_campaign(site: Site, campaign_id: str) -> None:
    """Refuses a campaign of another sub-account (or an unknown id), naming its own: a
    campaign belongs to one location, and only that location's tools touch it."""
    campaign = site.bulk.campaign(campaign_id)  # an unknown id says so
    if campaign.location_id != site.location_id:
        raise UsageError(
            f"Campaign {campaign_id} belongs to sub-account {campaign.location_id}, not "
            f"{site.key}; call again with location={campaign.location_id!r}. Nothing changed."
        )


def campaign_out(engine: BulkEngine, campaign_id: str) -> BulkStatusOut:
    out = status_result(engine, campaign_id)
    return out.model_copy(update={"name": engine.campaign(campaign_id).name})


def resume_question(engine: BulkEngine, campaign_id: str) -> str:
    status = status_result(engine, campaign_id)
    campaign = engine.campaign(campaign_id)
    why = f" It paused because: {campaign.state_reason}" if campaign.state_reason else ""
    return (
        f"Resume campaign {campaign.name} ({campaign_id})? {status.left} of "
        f"{status.recipients} recipients are still to be texted; {status.sent} sent, "
        f"{status.failed} failed, {status.skipped} skipped so far.{why}"
    )


async def confirm_resume(
    action: Action,
    campaign_id: str | None,
    confirmed: bool,
    ctx: Context[AppState, Any],
    location: str | None = None,
) -> Confirm | Elicit[Confirm]:
    """Only ``resume`` asks the user (it sends texts again); everything else passes.
    (``async``: a plain function would run on a worker thread, away from the ledger's
    SQLite connection.)"""
    from ghl_sms.ops.bulk import CampaignState

    state = state_of(ctx)
    if action != "resume" or not campaign_id or not state.confirm:
        return Confirm(send=True)
    site = await site_of(ctx, location)
    engine = site.bulk
    with tool_errors():
        own_campaign(site, campaign_id)
        campaign = engine.campaign(campaign_id)
        if campaign.state != CampaignState.PAUSED:
            return Confirm(send=True)  # nothing to resume: the body says why
        question = resume_question(engine, campaign_id)
    question += f"\nSub-account: {await site.describe()}."
    return ask_approval(
        ctx,
        question,
        confirmed=confirmed,
        not_yet="Not resumed yet",
        call_again="sms_campaign again with action='resume', the same campaign_id",
        shown="this",
    )


Approval = Annotated[ElicitationResult[Confirm], Resolve(confirm_resume)]


def register_campaign(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Campaigns", annotations=_CHANGES)
    async def sms_campaign(
        action: Action,
        ctx: Ctx,
        approval: Approval,
        campaign_id: str | None = None,
        confirmed: Confirmed = False,
        location: Location = None,
    ) -> CampaignsOut:
        """sms_bulk_send's campaigns: list, status (sent, failed, left, ETA, waits), pause,
        resume (user confirms)."""
        site = await site_of(ctx, location)
        engine = site.bulk
        with tool_errors():
            if action == "list":
                if campaign_id:
                    raise UsageError("action='list' takes no campaign_id; use action='status'.")
                listed = engine.campaigns(site.location_id)[:LIST_LIMIT]
                return CampaignsOut(campaigns=[campaign_out(engine, c.id) for c in listed])
            if not campaign_id:
                raise UsageError(
                    f"action={action!r} needs a campaign_id; action='list' shows them."
                )
            own_campaign(site, campaign_id)  # an unknown id says so, whatever the action
            if action == "pause":
                engine.pause(campaign_id)
            elif action == "resume":
                if not isinstance(approval, AcceptedElicitation) or not approval.data.send:
                    raise ToolError("The user did not approve: the campaign stays paused.")
                engine.resume(campaign_id)
                site.runner.kick()
            return CampaignsOut(campaigns=[campaign_out(engine, campaign_id)])
