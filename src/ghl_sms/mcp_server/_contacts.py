"""``sms_contacts``: find the person to text, by name, phone, email or tag.

Built on ``ops.contacts.ContactDirectory``. Pages are small (at most 20), so every
contact found comes with its SMS DND state: an assistant sees who cannot be texted
before it tries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server import MCPServer
from pydantic import Field

from ghl_sms.mcp_server._args import READS_GHL, ContactId, Ctx, Cursor, Location
from ghl_sms.mcp_server._cursor import issue, redeem
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import ContactOut, ContactsOut
from ghl_sms.mcp_server._send import site_of
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops.errors import UsageError

if TYPE_CHECKING:  # the contacts directory comes with a location's service
    from ghl_sms.ops.contacts import ContactDetail, ContactSummary

__all__ = ["register_contacts"]

DEFAULT_LIMIT = 10
DND_LOOKUP_LIMIT = 20
"""ghl_sms.ops.contacts.DND_LOOKUP_LIMIT (a test keeps them equal): named here, the
schema needs no import of the ops layer."""

Query = Annotated[str | None, Field(description="Name, phone or email")]
ContactsLimit = Annotated[int | None, Field(ge=1, le=DND_LOOKUP_LIMIT)]


def summary_out(
    c: ContactSummary | ContactDetail,
    *,
    timezone: str | None = None,
    fields: dict[str, str] | None = None,
) -> ContactOut:
    """A contact as a search lists it; ``detail_out`` adds what one shown in full has."""
    return ContactOut(
        id=c.id,
        name=c.name,
        phone=c.phone,
        email=c.email,
        tags=c.tags or None,
        sms_dnd=c.sms_dnd,
        opted_out=c.opted_out,
        timezone=timezone,
        fields=fields,
    )


def detail_out(c: ContactDetail) -> ContactOut:
    return summary_out(
        c, timezone=", ".join(c.quiet_hours_zones) or None, fields=c.merge_fields or None
    )


def register_contacts(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Find contacts", annotations=READS_GHL)
    async def sms_contacts(
        ctx: Ctx,
        query: Query = None,
        tag: str | None = None,
        contact_id: ContactId = None,
        limit: ContactsLimit = None,
        cursor: Cursor = None,
        location: Location = None,
    ) -> ContactsOut:
        """Find people by name, phone or email (query) or tag: ids, phones, SMS DND,
        opt-outs. To text someone by name: this, then sms_send(contact_id=id).
        contact_id: one in full."""
        directory = (await site_of(ctx, location)).service.contacts
        with tool_errors():
            if contact_id is not None:
                if query is not None or tag is not None or cursor is not None:
                    raise UsageError(
                        "Give contact_id (one contact) or search criteria (query, tag), "
                        "not both; nothing was looked up."
                    )
                return ContactsOut(contacts=[detail_out(await directory.show(contact_id))], total=1)
            raw_cursor = redeem("sms_contacts", cursor)
            page = await directory.search(
                query,
                tag=tag,
                limit=limit if limit is not None or raw_cursor else DEFAULT_LIMIT,
                cursor=raw_cursor,
                check_dnd=True,
            )
        return ContactsOut(
            contacts=[summary_out(c) for c in page.contacts],
            total=page.total,
            next_cursor=issue("sms_contacts", page.next_cursor),
        )
