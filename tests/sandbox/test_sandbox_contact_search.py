"""``POST /contacts/search`` with GHL's request and response shapes (ghl-api.md §4)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio

SEEDED = 13


async def search(http: httpx2.AsyncClient, sb: Sandbox, **body: Any) -> Any:
    response = await http.post("/contacts/search", json={"locationId": sb.location_id, **body})
    assert response.status_code == 200, response.text
    return response.json()


def names(found: Any) -> list[str]:
    return [c["name"] for c in found["contacts"]]


async def test_the_answer_is_contacts_total_and_a_trace_id_without_dnd(
    sb: Sandbox, http: httpx2.AsyncClient
) -> None:
    found = await search(http, sb, page=1, pageLimit=100)
    assert set(found) == {"contacts", "total", "traceId"}
    assert found["total"] == SEEDED == len(found["contacts"])
    assert all("dndSettings" not in c for c in found["contacts"])
    ben = next(c for c in found["contacts"] if c["id"] == sb.seed_ids["sms_dnd"])
    assert ben["phone"] == "+14155550102" and ben["tags"] == ["sandbox", "sms_dnd"]


async def test_query_searches_names_email_and_phone(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    assert names(await search(http, sb, query="carter")) == ["Ben Carter"]
    assert names(await search(http, sb, query="chloe.diaz@")) == ["Chloe Diaz"]
    assert names(await search(http, sb, query="5125550100")) == ["Ivy Jones"]
    assert (await search(http, sb, query="nobody-like-this"))["total"] == 0


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "tags", "operator": "contains", "value": "sms_dnd"}, ["Ben Carter"]),
        ({"field": "tags", "operator": "eq", "value": "SMS_DND"}, ["Ben Carter"]),
        ({"field": "email", "operator": "eq", "value": "Ava.Reed@example.com"}, ["Ava Reed"]),
        ({"field": "firstName", "operator": "eq", "value": "hugo"}, ["Hugo Ito"]),
        ({"field": "firstNameLowerCase", "operator": "eq", "value": "hugo"}, ["Hugo Ito"]),
        ({"field": "lastName", "operator": "contains", "value": "oor"}, ["Lena Moore"]),
        ({"field": "timezone", "operator": "eq", "value": "Europe/London"}, ["Jack King"]),
        ({"field": "state", "operator": "exists"}, ["Hugo Ito", "Ivy Jones"]),
    ],
)
async def test_filters_on_tags_email_and_names(
    sb: Sandbox, http: httpx2.AsyncClient, condition: dict[str, Any], expected: list[str]
) -> None:
    assert names(await search(http, sb, filters=[condition])) == expected


async def test_filters_and_together_and_groups_or(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    both = await search(
        http, sb,
        filters=[{"field": "tags", "operator": "eq", "value": "sandbox"},
                 {"field": "tags", "operator": "not_eq", "value": "sms_dnd"},
                 {"field": "state", "operator": "not_exists"}],
    )  # fmt: skip
    assert both["total"] == SEEDED - 3
    either = await search(
        http, sb,
        filters=[{"group": "OR", "filters": [
            {"field": "firstNameLowerCase", "operator": "eq", "value": "ava"},
            {"field": "lastNameLowerCase", "operator": "eq", "value": "carter"}]}],
    )  # fmt: skip
    assert names(either) == ["Ava Reed", "Ben Carter"]


async def test_the_phone_filter_still_finds_nothing(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    for operator in ("eq", "contains"):
        condition = {"field": "phone", "operator": operator, "value": "+14155550102"}
        assert (await search(http, sb, filters=[condition]))["contacts"] == []


async def test_pages_by_number_and_by_search_after(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    pages = [await search(http, sb, page=n, pageLimit=5) for n in (1, 2, 3)]
    by_page = [c["id"] for p in pages for c in p["contacts"]]
    assert [len(p["contacts"]) for p in pages] == [5, 5, 3] and len(set(by_page)) == SEEDED
    by_cursor: list[str] = []
    found = await search(http, sb, pageLimit=5)
    while found["contacts"]:
        by_cursor += [c["id"] for c in found["contacts"]]
        found = await search(
            http, sb, pageLimit=5, searchAfter=found["contacts"][-1]["searchAfter"]
        )
    assert by_cursor == by_page


async def test_sort_orders_the_results(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    found = await search(
        http, sb, pageLimit=3, sort=[{"field": "firstNameLowerCase", "direction": "desc"}]
    )
    assert names(found) == ["Milo Nash", "Lena Moore", "Kai Lewis"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filters": {"field": "tags"}}, "filters must be an array"),
        ({"filters": [{"field": "tags", "operator": "like", "value": "x"}]},
         "filters.0.operator must be one of the following values: eq, not_eq"),
        ({"filters": [{"operator": "eq", "value": "x"}]}, "filters.0.field must be a string"),
        ({"filters": [{"group": "XOR", "filters": []}]}, "filters.0.group must be one of"),
        ({"searchAfter": "abc"}, "searchAfter must be an array"),
    ],
)  # fmt: skip
async def test_a_malformed_search_is_a_422_not_everything(
    sb: Sandbox, http: httpx2.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await http.post("/contacts/search", json={"locationId": sb.location_id, **body})
    assert response.status_code == 422
    assert any(m.startswith(message) for m in response.json()["message"])
