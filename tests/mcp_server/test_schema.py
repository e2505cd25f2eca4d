"""What tools/list shows the model: few tools, right hints, a small context bill."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.types import ListToolsResult, Tool, ToolAnnotations

from ghl_sms.mcp_server.server import compact_hints, compact_schema

# Every tool definition an assistant pays for, on every turn: the whole tools/list result.
BUDGET_CHARS = 11_000
BUDGET_TOOLS = 13
READS = {
    "sms_contacts", "sms_status", "sms_thread", "sms_inbox", "sms_check", "sms_numbers",
    "sms_history",
}  # fmt: skip
WRITES = {"sms_send", "sms_cancel", "sms_bulk_send", "sms_campaign"}
AVA = "sbxCtReachable000001"
OFFLINE = {"sms_history"}  # answered from local state, not GHL


def tools_list_size(result: ListToolsResult) -> int:
    """Characters of the whole tools/list result as it goes on the wire (compact JSON)."""
    data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


HINT_DEFAULTS = {  # the spec's reading of an absent hint
    "read_only_hint": False,
    "destructive_hint": True,
    "idempotent_hint": False,
    "open_world_hint": True,
}


def hint(tool: Tool, name: str) -> bool:
    """A hint as the spec reads it: an absent one has the spec's (cautious) default."""
    assert tool.annotations is not None
    value = getattr(tool.annotations, name)
    return HINT_DEFAULTS[name] if value is None else bool(value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sms_tools_each_with_title_description_schemas_and_hints(
    connect: Any, mode: str
) -> None:
    async with connect(mode=mode) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    assert set(tools) == READS | WRITES
    for tool in tools.values():
        assert tool.title and tool.description and len(tool.description) < 300
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None
    for name in READS:
        assert tools[name].annotations.read_only_hint is True
    for name in WRITES:
        assert hint(tools[name], "read_only_hint") is False
    for sends in ("sms_send", "sms_bulk_send"):
        assert [hint(tools[sends], h) for h in ("destructive_hint", "idempotent_hint")] == [
            True,
            False,
        ]
        # Spelt out: a client reading a missing hint as false must not take a send for harmless.
        assert tools[sends].annotations.destructive_hint is True
    assert tools["sms_cancel"].annotations.destructive_hint is True
    assert hint(tools["sms_cancel"], "idempotent_hint") is True
    # Pausing and resuming change a campaign's state but destroy nothing; both repeat safely.
    campaign = tools["sms_campaign"]
    assert [hint(campaign, h) for h in ("destructive_hint", "idempotent_hint")] == [False, True]
    assert all(hint(tools[n], "open_world_hint") is False for n in OFFLINE)
    assert all(hint(tools[n], "open_world_hint") for n in set(tools) - OFFLINE)


def test_only_hints_beyond_the_cautious_defaults_are_published() -> None:
    sends = ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
    )
    assert compact_hints(sends) == ToolAnnotations(destructive_hint=True)
    local = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    assert compact_hints(local) == local
    assert compact_hints(None) is None


@pytest.mark.anyio
async def test_the_send_schema_shows_arguments_only_never_context_or_resolvers(
    connect: Any,
) -> None:
    async with connect() as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    schema = tools["sms_send"].input_schema
    assert schema["required"] == ["text"]
    assert set(schema["properties"]) == {
        "text", "contact_id", "to_number", "conversation_id", "media_urls", "send_at",
        "from_number", "transactional", "ignore_quiet_hours", "dry_run", "confirmed",
        "idempotency_key", "allow_repeat", "location",
    }  # fmt: skip
    assert tools["sms_inbox"].input_schema["properties"]["limit"] == {
        "default": 20,
        "maximum": 50,
        "minimum": 1,
        "type": "integer",
    }


@pytest.mark.anyio
async def test_the_whole_tools_list_result_stays_within_its_context_budget(
    connect: Any,
) -> None:
    async with connect() as s:
        listed = await s.client.list_tools()
    assert len(listed.tools) <= BUDGET_TOOLS
    size = tools_list_size(listed)
    assert size <= BUDGET_CHARS, f"tools/list is {size} characters; the budget is {BUDGET_CHARS}"
    # The wrapper counts too: measuring the tools array alone would hide it.
    array = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
    assert size > len(json.dumps(array, separators=(",", ":"), ensure_ascii=False))


def test_compacting_keeps_the_contract_and_drops_what_the_names_say() -> None:
    item = {"type": "integer"}
    schema = {
        "title": "Out",
        "type": "object",
        "$defs": {"Item": {"title": "Item", "type": "object", "properties": {"a": item}}},
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                     "default": None, "title": "When"},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "default": []},
            "flag": {"type": "boolean", "default": False},
            "limit": {"type": "integer", "default": 20},
        },
        "required": ["title"],
    }  # fmt: skip
    assert compact_schema(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "when": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "properties": {"a": item}}},
            "flag": {"type": "boolean"},
            "limit": {"type": "integer", "default": 20},
        },
        "required": ["title"],
    }  # fmt: skip
    # A result's schema drops ``required``: results leave out what has no value anyway;
    # below its root, a ``type`` that ``properties``, ``items`` or ``enum`` already says.
    lean = compact_schema(schema, output=True)
    assert "required" not in lean and lean["type"] == "object"
    assert lean["properties"]["items"] == {"items": {"properties": {"a": item}}}
    assert lean["properties"]["limit"] == {"type": "integer", "default": 20}


@pytest.mark.anyio
async def test_published_output_schemas_validate_real_results(connect: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    async with connect(confirm=False) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        results = {
            "sms_send": await s.ok("sms_send", text="Hi", contact_id=AVA),
            "sms_numbers": await s.ok("sms_numbers"),
            "sms_check": await s.ok("sms_check", contact_id="sbxCtSmsDnd000000001"),
            "sms_thread": await s.ok("sms_thread", contact_id=AVA),
            "sms_inbox": await s.ok("sms_inbox"),
            "sms_contacts": await s.ok("sms_contacts", query="Ava"),
            "sms_history": await s.ok("sms_history"),
            "sms_bulk_send": await s.ok("sms_bulk_send", template="Hi", contact_ids=["x"]),
            "sms_bulk_started": await s.ok("sms_bulk_send", template="Yo", contact_ids=[AVA]),
            "sms_campaign": await s.ok("sms_campaign", action="list"),
            "sms_cancel": await s.ok("sms_cancel", opt_out="+14155550188"),
        }
        results["sms_check_text"] = await s.ok("sms_check", text="It’s")
        results["sms_contact"] = await s.ok("sms_contacts", contact_id=AVA)
    assert results["sms_bulk_send"]["outcome"] == "nothing_to_send"
    assert results["sms_campaign"]["campaigns"][0]["state"] in ("running", "completed")
    for name, result in results.items():
        tool = {
            "sms_check_text": "sms_check",
            "sms_contact": "sms_contacts",
            "sms_bulk_started": "sms_bulk_send",
        }.get(name, name)
        jsonschema.validate(result, tools[tool].output_schema)
