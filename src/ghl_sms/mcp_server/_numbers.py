"""``sms_numbers``: the sending numbers, and the sub-accounts the server texts for.

On a server with several sub-accounts (profiles, an agency login), ``sms_numbers``
without ``location`` is where an assistant learns them: each with the name or id that
every tool's ``location`` takes, GHL's name for it, its numbers, and which one is the
default. That explanation lives here once, so the other tools' schemas stay short.
"""

from __future__ import annotations

from mcp.server import MCPServer

from ghl_sms.mcp_server._args import READS_GHL, Ctx, Location
from ghl_sms.mcp_server._errors import tool_error, tool_errors
from ghl_sms.mcp_server._locations import SubAccount
from ghl_sms.mcp_server._models import LocationOut, NumberOut, NumbersOut
from ghl_sms.mcp_server._send import site_of, state_of
from ghl_sms.mcp_server._state import AppState

__all__ = ["NUMBERS_FOR_UP_TO", "register_numbers"]

NUMBERS_FOR_UP_TO = 20
"""The listing reads the numbers of this many sub-accounts (a request each, and a token
minted for each of an agency's); the rest are listed by name: ask for one by location."""


def register_numbers(mcp: MCPServer[AppState]) -> None:
    @mcp.tool(title="Numbers, sub-accounts", annotations=READS_GHL)
    async def sms_numbers(ctx: Ctx, location: Location = None) -> NumbersOut:
        """Sending numbers (for from_number). Several sub-accounts: without location,
        lists each; its name or id is location on any tool."""
        pool = state_of(ctx).locations
        if location is not None or not pool.many:
            site = await site_of(ctx, location)
            with tool_errors():
                numbers = await site.service.numbers()
            return NumbersOut(numbers=[NumberOut.of(n) for n in numbers])
        with tool_errors():
            accounts = await pool.choices()
            default = await _default_id(ctx)
        listed = []
        for index, account in enumerate(accounts):
            read = index < NUMBERS_FOR_UP_TO
            listed.append(await _location(ctx, account, default, read=read))
        return NumbersOut(locations=listed)


async def _default_id(ctx: Ctx) -> str | None:
    pool = state_of(ctx).locations
    if pool.default is None:
        return None
    return (await pool.account(pool.default)).location_id


async def _location(
    ctx: Ctx, account: SubAccount, default: str | None, *, read: bool
) -> LocationOut:
    assert account.location_id is not None  # only a one-location server has none
    out = LocationOut(
        location=account.key,
        location_id=account.location_id,
        name=account.title,
        default=True if account.location_id == default else None,
    )
    if not read:
        return out.model_copy(update={"problem": "Not read: pass it as location."})
    try:
        site = await site_of(ctx, account.location_id)
        numbers = await site.service.numbers()
        if site.title is None:
            await site.describe()  # GHL's name, looked up once
    except Exception as exc:  # one sub-account's failure must not hide the others
        mapped = tool_error(exc)
        if mapped is None:
            raise  # a bug
        return out.model_copy(update={"problem": str(mapped)})
    senders = sorted((n for n in numbers if n.sms), key=lambda n: not n.is_default)
    return out.model_copy(update={"name": site.title, "numbers": [n.phone_number for n in senders]})
