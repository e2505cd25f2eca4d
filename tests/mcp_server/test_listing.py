"""The compact tools/list kept between starts (``_listing``): the same list the tools give,
used only for the sources and versions it was built from, and standing in for the tools
until a call needs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from ghl_sms.mcp_server._listing import ToolListing, listing_sources
from ghl_sms.mcp_server.server import _CompactServer, build_server
from support.stack import stack


def wire(tools: list[Tool]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


@pytest.mark.anyio
async def test_a_saved_listing_answers_the_next_start_until_a_call_registers_the_tools(
    tmp_path: Path,
) -> None:
    async with stack() as s:
        first = build_server(s.service_factory(), listing_cache=tmp_path)
        async with Client(first) as client:
            live = wire((await client.list_tools()).tools)
        assert [p.name for p in tmp_path.glob("tools-list.*.json")] == [
            ToolListing(tmp_path).path.name
        ]

        again = build_server(s.service_factory(), listing_cache=tmp_path)
        assert isinstance(again, _CompactServer)
        assert not again._registered and await again.list_tools() is again._cached
        async with Client(again) as client:
            assert wire((await client.list_tools()).tools) == live
            result = await client.call_tool("sms_check", {"text": "Hi"})
            assert not result.is_error and result.structured_content is not None
            assert again._registered  # the call registered them
            assert wire((await client.list_tools()).tools) == live


@pytest.mark.anyio
async def test_without_a_cache_folder_the_tools_are_registered_at_once() -> None:
    async with stack() as s:
        server = build_server(s.service_factory())
    assert isinstance(server, _CompactServer) and server._registered


def test_any_change_to_a_source_is_another_key(tmp_path: Path) -> None:
    source = tmp_path / "tool.py"
    source.write_text("x = 1\n")
    before = ToolListing(tmp_path, [source])
    before.save([Tool(name="t", input_schema={"type": "object"})])
    assert ToolListing(tmp_path, [source]).load() is not None

    source.write_text("x = 2\n")
    after = ToolListing(tmp_path, [source])
    assert after.key != before.key and after.load() is None
    after.save([Tool(name="t", input_schema={"type": "object"})])
    assert [p.name for p in tmp_path.glob("tools-list.*")] == [after.path.name]  # old gone


def test_the_sources_are_the_tools_and_the_text_rules() -> None:
    names = {f"{p.parent.name}/{p.name}" for p in listing_sources()}
    assert {"mcp_server/_tools.py", "mcp_server/_models.py", "rules/text.py"} <= names


def test_a_damaged_file_is_built_afresh_and_an_unwritable_folder_is_no_error(
    tmp_path: Path,
) -> None:
    listing = ToolListing(tmp_path)
    listing.path.write_text('{"tools": [{"name": 5}]}')
    assert ToolListing(tmp_path).load() is None

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    ToolListing(blocked).save([Tool(name="t", input_schema={"type": "object"})])
    assert blocked.read_text() == ""
