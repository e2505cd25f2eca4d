"""``POST /contacts/search``: GHL's advanced contact search, as real clients call it.

Body ``{locationId, page, pageLimit, searchAfter?, filters?, sort?, query?}`` (the spec's
schema is empty; ghl-api.md §4 and GHL's search docs give the shape). ``filters`` are
``{field, operator, value}`` conditions ANDed together, or groups
``{group: "AND"|"OR", filters: [...]}``. The answer is ``{contacts, total, traceId}``,
each contact carrying its ``searchAfter`` key for cursor paging past 10,000 results.

Kept quirks of the live API: results omit ``dndSettings`` (ISSUE #43), and a filter on
``phone`` finds nothing (ISSUE #289); look a number up with the duplicate lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import unprocessable
from ghl_sms.sandbox._routes._gate import (
    CONTACTS_VERSION,
    JsonDict,
    engine_of,
    ghl_route,
    json_body,
)

__all__ = ["search_contacts"]

READ = "contacts.readonly"
OPERATORS = ("eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range")
_TEXT_FIELDS = ("name", "firstName", "lastName", "email", "phone", "companyName")
_DEFAULT_PAGE_LIMIT = 20
_MAX_PAGE_LIMIT = 500


def _public(contact: JsonDict) -> JsonDict:
    """Search results omit DND (ISSUE #43): only GET /contacts/{id} shows it."""
    shown = {k: v for k, v in contact.items() if k not in ("dndSettings", "inboundDndSettings")}
    shown["searchAfter"] = _sort_key(contact)
    return shown


def _sort_key(contact: JsonDict) -> list[Any]:
    added = contact.get("dateAdded")
    try:
        millis = int(datetime.fromisoformat(str(added).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        millis = 0
    return [millis, contact["id"]]


def _problems(conditions: object, where: str) -> list[str]:
    """class-validator style messages for malformed filters, as GHL answers with a 422."""
    if not isinstance(conditions, list):
        return [f"{where} must be an array"]
    errors: list[str] = []
    for index, condition in enumerate(conditions):
        at = f"{where}.{index}"
        if not isinstance(condition, dict):
            errors.append(f"{at} must be an object")
        elif "group" in condition:
            if condition["group"] not in ("AND", "OR"):
                errors.append(f"{at}.group must be one of the following values: AND, OR")
            errors += _problems(condition.get("filters"), f"{at}.filters")
        else:
            if not isinstance(condition.get("field"), str) or not condition["field"]:
                errors.append(f"{at}.field must be a string")
            if condition.get("operator") not in OPERATORS:
                errors.append(
                    f"{at}.operator must be one of the following values: {', '.join(OPERATORS)}"
                )
    return errors


def _folded(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _equals(actual: Any, value: Any) -> bool:
    if isinstance(actual, list):  # tags: the contact has the tag (or one of the tags)
        wanted = value if isinstance(value, list) else [value]
        have = {_folded(a) for a in actual}
        return any(_folded(w) in have for w in wanted)
    return bool(_folded(actual) == _folded(value))


def _contains(actual: Any, value: Any) -> bool:
    if isinstance(actual, list):
        return _equals(actual, value)
    return isinstance(actual, str) and isinstance(value, str) and value.lower() in actual.lower()


def _in_range(actual: Any, bounds: Any) -> bool:
    if not isinstance(bounds, dict) or actual is None:
        return False
    checks = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b,
              "lte": lambda a, b: a <= b, "lt": lambda a, b: a < b}  # fmt: skip
    try:
        return all(checks[k](actual, v) for k, v in bounds.items() if k in checks)
    except TypeError:  # a number against a text
        return False


def _matches(contact: JsonDict, condition: JsonDict) -> bool:
    if "group" in condition:
        parts = [_matches(contact, c) for c in condition.get("filters") or []]
        return any(parts) if condition["group"] == "OR" else all(parts)
    field, operator, value = condition["field"], str(condition["operator"]), condition.get("value")
    if field == "phone":
        return False  # the live phone filter finds nothing (ISSUE #289); use duplicate lookup
    actual = contact.get(field)
    if operator in ("exists", "not_exists"):
        present = actual not in (None, "", [])
        return present if operator == "exists" else not present
    if operator == "range":
        return _in_range(actual, value)
    if operator in ("eq", "not_eq"):
        return _equals(actual, value) is (operator == "eq")
    return _contains(actual, value) is (operator == "contains")


def _mentions(contact: JsonDict, text: str) -> bool:
    needle = text.strip().lower()
    return needle in " ".join(str(contact.get(k) or "") for k in _TEXT_FIELDS).lower()


def _sorted(contacts: list[JsonDict], sort: object) -> list[JsonDict]:
    if not isinstance(sort, list):
        return contacts
    for rule in reversed([r for r in sort if isinstance(r, dict)]):
        field = rule.get("field")
        if isinstance(field, str):
            contacts = sorted(
                contacts,
                key=lambda c: str(_folded(c.get(field)) or ""),
                reverse=rule.get("direction") == "desc",
            )
    return contacts


def _whole(value: object, default: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return default
    return value


@ghl_route(READ, CONTACTS_VERSION)
async def search_contacts(request: Request, ctx: AuthContext) -> JsonDict:
    body = await json_body(request)
    location_id = body.get("locationId")
    errors = [] if isinstance(location_id, str) else ["locationId must be a string"]
    if body.get("filters") is not None:
        errors += _problems(body["filters"], "filters")
    after = body.get("searchAfter")
    if after is not None and not (isinstance(after, list) and after):
        errors.append("searchAfter must be an array")
    if errors:
        raise unprocessable(errors)
    ctx.require_location(str(location_id))
    engine = engine_of(request)
    contacts = engine.store.find_contacts(ctx.location_id)
    text = body.get("query")
    if isinstance(text, str) and text.strip():
        contacts = [c for c in contacts if _mentions(c, text)]
    for condition in body.get("filters") or []:
        contacts = [c for c in contacts if _matches(c, condition)]
    contacts = _sorted(contacts, body.get("sort"))
    page_limit = min(_whole(body.get("pageLimit"), _DEFAULT_PAGE_LIMIT), _MAX_PAGE_LIMIT)
    if after is not None:
        # The page starts after the contact whose key was passed (its id is the tiebreak).
        ids = [c["id"] for c in contacts]
        start = ids.index(after[-1]) + 1 if after[-1] in ids else len(ids)
        chunk = contacts[start : start + page_limit]
    else:
        page = _whole(body.get("page"), 1)
        chunk = contacts[(page - 1) * page_limit : page * page_limit]
    return {
        "contacts": [_public(c) for c in chunk],
        "total": len(contacts),
        "traceId": engine.new_id("trace"),
    }
