"""Reference sections of the docs written from the code: the MCP tools (from the server's
own ``tools/list``) and the carrier error codes (from ``ghl_sms.rules.carrier_errors``).

Each lives in its page between ``<!-- generated: NAME ... -->`` and
``<!-- end generated: NAME -->``; tests/docs/test_reference.py checks it is current, and
``GHL_SMS_DOCS_WRITE=1`` makes that test write it.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from mcp.types import Tool

from ghl_sms.mcp_server.server import build_server
from ghl_sms.rules.carrier_errors import _TABLE, Retry

__all__ = ["carrier_errors_markdown", "mcp_tools", "mcp_tools_markdown", "replace_section"]

_RETRY = {
    Retry.NEVER: "never",
    Retry.LATER: "later",
    Retry.NEXT_DAY: "the next day",
    Retry.AFTER_FIX: "after the fix",
}


def mcp_tools() -> list[Tool]:
    """What ``tools/list`` answers (no location is opened to list them)."""

    async def listed() -> list[Tool]:
        return await build_server(lambda *args, **kwargs: None).list_tools()  # type: ignore[arg-type,return-value]

    return anyio.run(listed)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f'`"{value}"`' for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, words in (
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("maxItems", "at most {} items"),
        ("default", "default `{}`"),
    ):
        if key in schema:
            value = schema[key]
            parts.append(words.format(str(value).lower() if isinstance(value, bool) else value))
    return ", ".join(parts)


def _hints(tool: Tool) -> str:
    hints = tool.annotations
    if hints is None:
        return "No hints."
    said = []
    if hints.read_only_hint:
        said.append("read-only")
    if hints.destructive_hint:
        said.append("changes something (destructive)")
    elif hints.destructive_hint is False:
        said.append("changes something (not destructive)")
    if hints.idempotent_hint:
        said.append("idempotent")
    if hints.open_world_hint is False:
        said.append("local only (the ledger)")
    return "Hints: " + ", ".join(said) + "." if said else "No hints."


def mcp_tools_markdown(tools: list[Tool]) -> str:
    lines: list[str] = []
    for tool in sorted(tools, key=lambda t: t.name):
        properties: dict[str, Any] = tool.input_schema.get("properties", {})
        required = set(tool.input_schema.get("required", []))
        lines += [f"### `{tool.name}`", "", tool.description or "", "", _hints(tool), ""]
        if not properties:
            lines += ["No arguments.", ""]
            continue
        lines += ["| Argument | Type | Required | Notes |", "|---|---|---|---|"]
        for name, schema in properties.items():
            notes = "; ".join(
                part for part in (schema.get("description", ""), _limits(schema)) if part
            )
            lines.append(
                f"| `{name}` | {_type(schema)} | {'yes' if name in required else ''} "
                f"| {_cell(notes)} |"
            )
        lines.append("")
    return "\n".join(lines)


def carrier_errors_markdown() -> str:
    lines = ["| Code | Title | What it means | Retry | What to do |", "|---|---|---|---|---|"]
    for entry in sorted(_TABLE, key=lambda e: e.code):
        lines.append(
            f"| {entry.code} | {_cell(entry.title)} | {_cell(entry.meaning)} "
            f"| {_RETRY[entry.retry]} | {_cell(entry.advice)} |"
        )
    return "\n".join(lines) + "\n"


def replace_section(page: str, name: str, body: str) -> str:
    """``page`` with the generated section ``name`` holding ``body``."""
    pattern = re.compile(
        rf"(<!-- generated: {re.escape(name)}\b[^>]*-->\n).*?(<!-- end generated: "
        rf"{re.escape(name)} -->)",
        re.DOTALL,
    )
    if pattern.search(page) is None:
        raise LookupError(f"no generated section {name!r}")
    return pattern.sub(lambda m: m.group(1) + "\n" + body + "\n" + m.group(2), page, count=1)
