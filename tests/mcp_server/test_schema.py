"""What tools/list shows the model: few tools, right hints, a small context bill."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ghl_sms.mcp_server.server import compact_schema

# Every tool definition an assistant pays for, on every turn.
BUDGET = 10_000
READS = {
    "sms_status", "sms_thread", "sms_inbox", "sms_check", "sms_numbers", "sms_preview",
    "sms_bulk_status",
}  # fmt: skip
OFFLINE = {"sms_preview", "sms_bulk_status"}  # answered from local state, not GHL


def tools_list_size(tools: list[Any]) -> int:
    """Characters of the tools array as it goes on the wire (compact JSON)."""
    data = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_ten_sms_tools_each_with_title_description_schemas_and_hints(
    connect: Any, mode: str
) -> None:
    async with connect(mode=mode) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
    assert set(tools) == READS | {"sms_send", "sms_cancel", "sms_bulk_send"}
    assert len(tools) <= 10
    for tool in tools.values():
        assert tool.title and tool.description and len(tool.description) < 300
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None
    for name in READS:
        assert tools[name].annotations.read_only_hint is True
    send, cancel = tools["sms_send"].annotations, tools["sms_cancel"].annotations
    bulk = tools["sms_bulk_send"].annotations
    for sends in (send, bulk):
        assert (sends.read_only_hint, sends.destructive_hint, sends.idempotent_hint) == (
            False,
            True,
            False,
        )
    assert (cancel.read_only_hint, cancel.destructive_hint, cancel.idempotent_hint) == (
        False,
        True,
        True,
    )
    assert all(tools[n].annotations.open_world_hint is False for n in OFFLINE)
    assert all(tools[n].annotations.open_world_hint for n in set(tools) - OFFLINE)


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
        "idempotency_key", "allow_repeat",
    }  # fmt: skip
    assert tools["sms_inbox"].input_schema["properties"]["limit"] == {
        "default": 20,
        "maximum": 50,
        "minimum": 1,
        "type": "integer",
    }


@pytest.mark.anyio
async def test_tools_list_stays_within_its_share_of_the_context_budget(connect: Any) -> None:
    async with connect() as s:
        tools = (await s.client.list_tools()).tools
    assert tools_list_size(tools) < BUDGET


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


@pytest.mark.anyio
async def test_published_output_schemas_validate_real_results(connect: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    async with connect(confirm=False) as s:
        tools = {t.name: t for t in (await s.client.list_tools()).tools}
        results = {
            "sms_send": await s.ok("sms_send", text="Hi", contact_id="sbxCtReachable000001"),
            "sms_numbers": await s.ok("sms_numbers"),
            "sms_check": await s.ok("sms_check", contact_id="sbxCtSmsDnd000000001"),
            "sms_thread": await s.ok("sms_thread", contact_id="sbxCtReachable000001"),
            "sms_inbox": await s.ok("sms_inbox"),
            "sms_preview": await s.ok("sms_preview", text="It’s"),
        }
    for name, result in results.items():
        jsonschema.validate(result, tools[name].output_schema)
