"""``/contacts/*``: get, create, upsert, update, delete and duplicate lookup; the search is
in ``_contact_search``."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from ghl_sms.rules.phones import to_e164
from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import ApiError, bad_request, unprocessable
from ghl_sms.sandbox._routes._contact_search import search_contacts
from ghl_sms.sandbox._routes._gate import (
    CONTACTS_VERSION,
    JsonDict,
    engine_of,
    ghl_route,
    json_body,
)

__all__ = ["routes"]

READ = "contacts.readonly"
WRITE = "contacts.write"

_STRING_FIELDS = (
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "timezone",
    "source",
    "country",
    "companyName",
    "assignedTo",
    "gender",
)
UPDATE_FIELDS = frozenset(
    {
        *_STRING_FIELDS,
        "dnd",
        "dndSettings",
        "inboundDndSettings",
        "tags",
        "customFields",
        "dateOfBirth",
    }
) - {"gender", "companyName"}
CREATE_FIELDS = frozenset({*UPDATE_FIELDS, "locationId", "gender", "companyName"})
UPSERT_FIELDS = frozenset({*CREATE_FIELDS, "createNewIfDuplicateAllowed"})
_DND_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
_DND_STATUSES = ("active", "inactive", "permanent")


def _validate(body: JsonDict, allowed: frozenset[str]) -> list[str]:
    errors = [f"property {key} should not exist" for key in body if key not in allowed]
    for key in _STRING_FIELDS:
        value = body.get(key)
        if key in allowed and value is not None and not isinstance(value, str):
            errors.append(f"{key} must be a string")
    for key in ("dnd", "createNewIfDuplicateAllowed"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            errors.append(f"{key} must be a boolean value")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        errors.append("each value in tags must be a string")
    fields = body.get("customFields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, dict) for f in fields)
    ):
        errors.append("customFields must be an array")
    dnd = body.get("dndSettings")
    if dnd is not None:
        if not isinstance(dnd, dict):
            errors.append("dndSettings must be an object")
        else:
            for channel, setting in dnd.items():
                if channel not in _DND_CHANNELS:
                    errors.append(f"dndSettings.property {channel} should not exist")
                elif not isinstance(setting, dict) or setting.get("status") not in _DND_STATUSES:
                    errors.append(
                        f"dndSettings.{channel}.status must be one of the following "
                        f"values: {', '.join(_DND_STATUSES)}"
                    )
    birth = body.get("dateOfBirth")
    if birth is not None and parse_birth_date(birth) is None:
        errors.append("dateOfBirth must be a valid date")
    inbound = body.get("inboundDndSettings")
    if inbound is not None and not isinstance(inbound, dict):
        errors.append("inboundDndSettings must be an object")
    return errors


_BIRTH_FORMATS = re.compile(
    r"(?P<y1>\d{4})[/\-._](?P<m1>\d{1,2})[/\-._](?P<d1>\d{1,2})"
    r"|(?P<m2>\d{1,2})[/\-._](?P<d2>\d{1,2})[/\-._](?P<y2>\d{4})"
)


def parse_birth_date(value: object) -> str | None:
    """GHL's accepted birth-date formats (YYYY-MM-DD, MM/DD/YYYY, ...) as its ISO form."""
    if not isinstance(value, str):
        return None
    match = _BIRTH_FORMATS.fullmatch(value.strip())
    if match is None:
        return None
    year = match["y1"] or match["y2"]
    month = match["m1"] or match["m2"]
    day = match["d1"] or match["d2"]
    try:
        moment = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return f"{moment.isoformat()}T00:00:00.000Z"


def _normalised(body: JsonDict) -> JsonDict:
    if body.get("dateOfBirth") is not None:
        return {**body, "dateOfBirth": parse_birth_date(body["dateOfBirth"])}
    return body


def _contact_or_400(request: Request, ctx: AuthContext) -> JsonDict:
    contact_id = request.path_params["contactId"]
    contact = engine_of(request).store.get_contact(contact_id)
    if contact is None:
        raise bad_request(f"Contact with id {contact_id} not found")
    ctx.require_location(contact["locationId"])
    return contact


def _duplicate_of(
    request: Request, location_id: str, body: JsonDict
) -> tuple[JsonDict, str] | None:
    store = engine_of(request).store
    email = body.get("email")
    if isinstance(email, str) and email:
        found = store.find_contacts(location_id, email=email)
        if found:
            return found[0], "email"
    phone = body.get("phone")
    if isinstance(phone, str) and phone:
        found = store.find_contacts(location_id, phone=to_e164(phone) or phone)
        if found:
            return found[0], "phone"
    return None


@ghl_route(READ, CONTACTS_VERSION)
async def get_contact(request: Request, ctx: AuthContext) -> JsonDict:
    return {"contact": _contact_or_400(request, ctx)}


@ghl_route(WRITE, CONTACTS_VERSION)
async def create_contact(request: Request, ctx: AuthContext) -> tuple[int, JsonDict]:
    body = await json_body(request)
    errors = _validate(body, CREATE_FIELDS)
    if not isinstance(body.get("locationId"), str):
        errors.append("locationId must be a string")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(body["locationId"])
    duplicate = _duplicate_of(request, ctx.location_id, body)
    if duplicate is not None:
        existing, field = duplicate
        meta: JsonDict = {"contactId": existing["id"], "matchingField": field}
        if existing.get("name"):
            meta["contactName"] = existing["name"]
        raise ApiError(
            400,
            {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "This location does not allow duplicated contacts.",
                "meta": meta,
            },
        )
    engine = engine_of(request)
    with engine.transaction():
        contact = engine.insert_contact(engine.build_contact(ctx.location_id, _normalised(body)))
    return 201, {"contact": contact}


@ghl_route(WRITE, CONTACTS_VERSION)
async def upsert_contact(request: Request, ctx: AuthContext) -> JsonDict:
    body = await json_body(request)
    errors = _validate(body, UPSERT_FIELDS)
    if not isinstance(body.get("locationId"), str):
        errors.append("locationId must be a string")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(body["locationId"])
    engine = engine_of(request)
    fields = {
        k: v for k, v in body.items() if k not in ("locationId", "createNewIfDuplicateAllowed")
    }
    duplicate = _duplicate_of(request, ctx.location_id, body)
    with engine.transaction():
        if duplicate is None:
            contact = engine.insert_contact(engine.build_contact(ctx.location_id, fields))
            is_new = True
        else:
            existing, matched = duplicate
            # GHL silently ignores the second matching field when it points elsewhere.
            other = "phone" if matched == "email" else "email"
            if other in fields and _points_elsewhere(request, ctx, other, fields[other], existing):
                fields.pop(other)
            contact = engine.update_contact(existing, fields)
            is_new = False
    return {"new": is_new, "contact": contact, "traceId": engine.new_id("trace")}


def _points_elsewhere(
    request: Request, ctx: AuthContext, field: str, value: Any, existing: JsonDict
) -> bool:
    if not isinstance(value, str) or not value:
        return False
    store = engine_of(request).store
    if field == "email":
        found = store.find_contacts(ctx.location_id, email=value)
    else:
        found = store.find_contacts(ctx.location_id, phone=to_e164(value) or value)
    return any(c["id"] != existing["id"] for c in found)


@ghl_route(WRITE, CONTACTS_VERSION)
async def update_contact(request: Request, ctx: AuthContext) -> JsonDict:
    body = await json_body(request)
    errors = _validate(body, UPDATE_FIELDS)
    if errors:
        raise unprocessable(errors)
    contact = _contact_or_400(request, ctx)
    engine = engine_of(request)
    return {"succeded": True, "contact": engine.update_contact(contact, _normalised(body))}


@ghl_route(WRITE, CONTACTS_VERSION)
async def delete_contact(request: Request, ctx: AuthContext) -> JsonDict:
    contact = _contact_or_400(request, ctx)
    engine = engine_of(request)
    with engine.transaction():
        engine.store.delete_contact(contact["id"])
    return {"succeded": True}


def _public(contact: JsonDict) -> JsonDict:
    """Lookups omit DND, as search does (ISSUE #43): only GET /contacts/{id} shows it."""
    return {k: v for k, v in contact.items() if k not in ("dndSettings", "inboundDndSettings")}


@ghl_route(READ, CONTACTS_VERSION)
async def duplicate_contact(request: Request, ctx: AuthContext) -> JsonDict:
    query = request.query_params
    location_id = query.get("locationId")
    if not location_id:
        raise unprocessable(["locationId must be a string"])
    ctx.require_location(location_id)
    number, email = query.get("number"), query.get("email")
    if not number and not email:
        raise bad_request("Pass at least one of number, email query parameter")
    found = _duplicate_of(request, ctx.location_id, {"email": email, "phone": number})
    return {"contact": None if found is None else _public(found[0])}


routes = [
    Route("/contacts/search", search_contacts, methods=["POST"]),
    Route("/contacts/search/duplicate", duplicate_contact, methods=["GET"]),
    Route("/contacts/upsert", upsert_contact, methods=["POST"]),
    Route("/contacts/", create_contact, methods=["POST"]),
    Route("/contacts", create_contact, methods=["POST"]),
    Route("/contacts/{contactId}", get_contact, methods=["GET"]),
    Route("/contacts/{contactId}", update_contact, methods=["PUT"]),
    Route("/contacts/{contactId}", delete_contact, methods=["DELETE"]),
]
