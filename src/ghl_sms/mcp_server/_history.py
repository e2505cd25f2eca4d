"""``sms_history``: every send this install made, from the ledger (``ops.history``).

Local and read-only: no GHL request. ``status="scheduled"`` is the list of messages
still waiting to go out, soonest first (the ledger's ``scheduled``), so an assistant can
find one to cancel.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from mcp.server import MCPServer
from pydantic import Field

from ghl_sms._clock import utc_datetime
from ghl_sms.mcp_server._args import LOCAL, ContactId, Ctx, Cursor, Location, PlainNumber
from ghl_sms.mcp_server._cursor import issue, redeem
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import HistoryOut, SentOut
from ghl_sms.mcp_server._send import site_of
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops.errors import UsageError

if TYPE_CHECKING:  # imported by the first call, not by tools/list
    from ghl_sms.ops.history import HistoryEntry, HistoryQuery
    from ghl_sms.ops.service import SmsService

__all__ = ["TEXT_LIMIT", "register_history"]

TEXT_LIMIT = 160
"""Longer texts are cut (``sms_status`` has the whole message)."""

Status = Annotated[str | None, Field(description="e.g. failed,scheduled")]
Since = Annotated[str | None, Field(description="2d, 12h or ISO time")]
HistoryLimit = Annotated[int, Field(ge=1, le=50)]


def entry_out(e: HistoryEntry) -> SentOut:
    text = e.text
    if len(text) > TEXT_LIMIT:
        whole = f"; sms_status('{e.message_id}') has all" if e.message_id else ""
        text = f"{text[:TEXT_LIMIT]}... [{len(e.text) - TEXT_LIMIT} more chars{whole}]"
    why = " ".join(w for w in (e.explanation, e.advice) if w) or None
    return SentOut(
        message_id=e.message_id,
        at=e.created_at,
        to_number=e.to,
        contact_id=e.contact_id,
        contact_name=e.contact_name,
        text=text,
        status=e.status,
        scheduled_at=e.scheduled_at,
        parts=e.segments,
        cost_usd=e.cost_estimate_usd,
        campaign_id=e.campaign_id,
        why=why,
    )


def _page(cursor: str | None) -> tuple[float | None, int]:
    """(the first page's moment, entries already shown) from a cursor we issued."""
    if cursor is None:
        return None, 0
    moment, _, offset = cursor.partition("|")
    try:
        pinned, shown = float(moment), int(offset)
        datetime.fromtimestamp(pinned, UTC)  # a moment datetime can hold
        if shown < 0:
            raise ValueError(shown)
        return pinned, shown
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            "cursor is not a next_cursor that sms_history returned; leave it out for the "
            "first page."
        ) from None


def _entries(service: SmsService, query: HistoryQuery, scheduled_only: bool) -> list[HistoryEntry]:
    from ghl_sms.ops.history import history

    if not scheduled_only:
        return history(service.ledger, service.events, query, config=service.config)
    # The ledger's own list of what is still to go out (an in-doubt one too), soonest first.
    waiting = service.scheduled()
    if not waiting:
        return []
    order = {r.idempotency_key: i for i, r in enumerate(waiting)}
    oldest = datetime.fromtimestamp(min(r.created_at for r in waiting), UTC)
    since = max(query.since, oldest) if query.since else oldest
    wider = replace(query, statuses=frozenset(), since=since, limit=None)
    entries = history(service.ledger, service.events, wider, config=service.config)
    return sorted(
        (e for e in entries if e.idempotency_key in order), key=lambda e: order[e.idempotency_key]
    )


def register_history(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Sent history", annotations=LOCAL)
    async def sms_history(
        ctx: Ctx,
        to_number: PlainNumber = None,
        contact_id: ContactId = None,
        campaign_id: str | None = None,
        status: Status = None,
        since: Since = None,
        limit: HistoryLimit = 20,
        cursor: Cursor = None,
        location: Location = None,
    ) -> HistoryOut:
        """Sends, newest first: status, cost, why one failed, message ids.
        status=scheduled: still to go out."""
        from ghl_sms.ops.history import HistoryQuery, parse_moment, parse_statuses
        from ghl_sms.rules.phones import looks_like_phone

        service = (await site_of(ctx, location)).service
        with tool_errors():
            if contact_id is not None and looks_like_phone(contact_id):
                raise UsageError(
                    f"{contact_id.strip()!r} is a phone number, not a contact id: pass it as "
                    "to_number."
                )
            pinned, offset = _page(redeem("sms_history", cursor))
            now = utc_datetime(service.clock)
            statuses = parse_statuses([status]) if status else frozenset()
            start = parse_moment(since, now) if since else None
            if start is not None and start > now:
                raise UsageError(
                    f"since {since!r} is in the future; use a duration such as 2d (two days "
                    "ago) or a past time."
                )
            query = HistoryQuery(
                location_id=service.location_id,
                to=to_number,
                contact_id=contact_id,
                campaign_id=campaign_id,
                statuses=statuses,
                since=start,
                # Later pages stop at the first page's moment, so new sends don't shift them.
                until=datetime.fromtimestamp(pinned, UTC) if pinned is not None else now,
                limit=offset + limit + 1,
                default_region=service.config.default_region,
            )
            entries = _entries(service, query, scheduled_only=statuses == {"scheduled"})
        shown = entries[offset : offset + limit]
        more = len(entries) > offset + limit
        moment = pinned if pinned is not None else now.timestamp()
        next_cursor = issue("sms_history", f"{moment!r}|{offset + limit}") if more else None
        return HistoryOut(sends=[entry_out(e) for e in shown], next_cursor=next_cursor)
