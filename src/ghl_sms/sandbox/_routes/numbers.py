"""``/phone-system/*`` and ``/locations/*``: the location's numbers, timezone and channels."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import bad_request, unprocessable
from ghl_sms.sandbox._events import CONVERSATION_PROVIDER_ID
from ghl_sms.sandbox._routes._gate import (
    CONTACTS_VERSION,
    JsonDict,
    engine_of,
    ghl_route,
    query_int,
)

__all__ = ["routes"]


@ghl_route("phonenumbers.read", CONTACTS_VERSION)
async def active_numbers(request: Request, ctx: AuthContext) -> JsonDict:
    ctx.require_location(request.path_params["locationId"])
    page_size = query_int(request, "pageSize", 1000, low=1, high=1000)
    page = query_int(request, "page", 0, low=0, high=1_000_000)
    pattern = request.query_params.get("searchFilter") or ""
    numbers = [n.data for n in engine_of(request).numbers(ctx.location_id) if pattern in n.phone]
    return {
        "numbers": numbers[page * page_size : (page + 1) * page_size],
        "isUnderGhl": True,
        "pageSize": page_size,
        "page": page,
        "accountStatus": "active",
    }


@ghl_route("numberpools.read", CONTACTS_VERSION)
async def number_pools(request: Request, ctx: AuthContext) -> JsonDict:
    ctx.require_location(request.query_params.get("locationId") or None)
    return {"success": True, "data": [], "total": 0}


@ghl_route("locations.readonly", CONTACTS_VERSION)
async def get_location(request: Request, ctx: AuthContext) -> JsonDict:
    ctx.require_location(request.path_params["locationId"])
    location = engine_of(request).store.get_location(ctx.location_id)
    if location is None:  # the token outlived its location (reset)
        raise bad_request("Location not found")
    return {"location": location}


@ghl_route("locations.readonly", "v3")
async def conversation_channels(request: Request, ctx: AuthContext) -> JsonDict:
    ctx.require_location(request.path_params["locationId"])
    channel = request.path_params["type"]
    if channel not in ("SMS", "Email"):
        raise unprocessable(["type must be one of the following values: SMS, Email"])
    providers: dict[str, list[JsonDict]] = {"SMS": [], "Email": []}
    if channel == "SMS":
        providers["SMS"].append(
            {
                "conversationProvider": {
                    "_id": CONVERSATION_PROVIDER_ID,
                    "name": "LC Phone",
                    "type": "SMS",
                    "default": True,
                }
            }
        )
    return {"conversationChannel": {channel: providers[channel]}}


routes = [
    Route("/phone-system/numbers/location/{locationId}", active_numbers, methods=["GET"]),
    Route("/phone-system/number-pools", number_pools, methods=["GET"]),
    Route("/locations/{locationId}", get_location, methods=["GET"]),
    Route(
        "/locations/{locationId}/conversationChannels/{type}",
        conversation_channels,
        methods=["GET"],
    ),
]
