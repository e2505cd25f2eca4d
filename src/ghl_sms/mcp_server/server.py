"""``build_server``: the ghl-sms MCP server over one location's ``SmsService``, or over
many sub-accounts (``LocationSet``), each opened when a tool first names it.

Services come from factories the server enters for its lifetime, so the CLI passes real
GHL (or the embedded sandbox) and tests pass an in-memory sandbox. Nothing is opened
before the first ``tools/list`` is answered (a client waits for it at start); then the
default location opens in the background and campaigns left running resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, Tool, ToolAnnotations
from pydantic import ValidationError

from ghl_sms import __version__
from ghl_sms.mcp_server._errors import (
    anticipated_cause,
    argument_error,
    error_result,
    unknown_arguments_error,
)
from ghl_sms.mcp_server._listing import ToolListing
from ghl_sms.mcp_server._locations import (
    AgencyAccess,
    LocationPool,
    LocationSet,
    ServiceFactory,
    SubAccount,
)
from ghl_sms.mcp_server._state import AppState

__all__ = [
    "INSTRUCTIONS",
    "QUIET_HINTS",
    "AgencyAccess",
    "AppState",
    "LocationSet",
    "ServiceFactory",
    "SubAccount",
    "build_server",
    "compact_hints",
    "compact_schema",
]

WARM_UP_AFTER = 0.25
"""Seconds between the first ``tools/list`` and the warm-up (the tools registered if a
cached listing stood in, the default location opened, campaigns left running resumed):
time for the answer to reach the client first."""

INSTRUCTIONS = (
    "Text people through GoHighLevel. Texts reach real phones and are billed. To text "
    "someone by name, find them with sms_contacts(query=name) and send with "
    "sms_send(contact_id=...); sms_check says whether they can be texted now. Read a "
    "thread (sms_thread) before replying. sms_send, sms_bulk_send and a campaign resume "
    "ask the user to confirm; never set confirmed=true without their approval. A repeated "
    "send returns outcome 'duplicate' instead of texting twice. sms_history shows what was "
    "sent and why a text failed. A server may text for several sub-accounts (GHL "
    "locations): sms_numbers lists them, and every tool's location (a name or id from "
    "there) picks one; without it the default is used."
)


def compact_schema(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    """The same contract with less to read, for ``tools/list``.

    Drops titles (the names say it) and null, false and [] defaults; an optional argument is
    published as its plain type (null is still accepted); ``$defs`` used once are
    inlined. Arguments are still validated against the full pydantic models.

    ``output``: a result schema, which also drops ``required`` (every result leaves out
    the fields it has no value for, so a reader checks for a field either way) and the
    ``type`` that a nested schema's ``properties``, ``items`` or ``enum`` already says.
    The ``tools/list`` budget is better spent on arguments and descriptions.
    """
    defs = schema.get("$defs", {})
    uses: dict[str, int] = {}
    _count_refs(schema, uses)
    inline = {name for name, count in uses.items() if count == 1}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix("#/$defs/") in inline:
            return walk(defs[ref.removeprefix("#/$defs/")])
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "format") and isinstance(value, str):
                continue
            if key == "default" and (value is None or value is False or value == []):
                continue  # absent means that anyway
            if output and key == "required" and isinstance(value, list):
                continue
            if key == "$defs":
                kept = {name: walk(sub) for name, sub in value.items() if name not in inline}
                if kept:
                    out[key] = kept
            elif key == "properties":
                required = set(node.get("required", ()))
                out[key] = {
                    name: _without_null(walk(sub)) if name not in required else walk(sub)
                    for name, sub in value.items()
                }
            else:
                out[key] = walk(value)
        return out

    result: dict[str, Any] = walk(schema)
    if output:
        result = {k: _lean(v) if k in ("properties", "$defs") else v for k, v in result.items()}
    return result


_IMPLIED_TYPE = {
    "properties": "object",
    "additionalProperties": "object",
    "items": "array",
    "enum": "string",
}


def _lean(node: Any) -> Any:
    """A result schema below its root without a ``type`` its other keys imply."""
    if isinstance(node, list):
        return [_lean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _lean(v) for k, v in node.items()}
    implied = [t for key, t in _IMPLIED_TYPE.items() if key in node]
    if implied and out.get("type") == implied[0]:
        del out["type"]
    return out


QUIET_HINTS = {"read_only_hint": False, "idempotent_hint": False, "open_world_hint": True}
"""Hints left out when they hold these values: the spec's defaults for an absent hint,
and each the cautious reading (may write, not safe to repeat, reaches the world).
``destructive_hint=True`` is always spelt out: a client that reads a missing hint as
false would otherwise take a send for harmless."""


def compact_hints(annotations: ToolAnnotations | None) -> ToolAnnotations | None:
    """The hints that say something beyond the spec's cautious defaults."""
    if annotations is None:
        return None
    unset = {
        name: None for name, quiet in QUIET_HINTS.items() if getattr(annotations, name) == quiet
    }
    return annotations.model_copy(update=unset)


def _count_refs(node: Any, uses: dict[str, int]) -> None:
    if isinstance(node, list):
        for item in node:
            _count_refs(item, uses)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            uses[name] = uses.get(name, 0) + 1
        for value in node.values():
            _count_refs(value, uses)


def _without_null(prop: Any) -> Any:
    """``X | None`` (optional anyway) published as ``X``."""
    options = prop.get("anyOf") if isinstance(prop, dict) else None
    if not isinstance(options, list) or {"type": "null"} not in options or len(options) != 2:
        return prop
    other = next(o for o in options if o != {"type": "null"})
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**other, **rest}


class _CompactServer(MCPServer[AppState]):
    """Publishes compacted schemas; validation still uses the full pydantic models.

    The first ``tools/list`` or tool call sets ``wanted``: the server warms up then. With
    a cached listing (``_listing``), the tools are registered on first need, not at start.

    Every refused call leaves through ``_errors.error_result``: the SDK's own texts for
    bad arguments (pydantic's, with its links) become one sentence per argument, and
    every error text is redacted. Crashes still reach the SDK, which logs them and
    tells the model only "Error executing tool <name>".
    """

    wanted: anyio.Event | None = None
    """Set by the lifespan, one per run (tests run a server more than once)."""
    _listing: ToolListing | None = None
    _cached: list[Tool] | None = None
    """The saved listing, standing in until the tools are registered."""
    _registered = False

    def _want(self) -> None:
        if self.wanted is not None:
            self.wanted.set()

    def ensure_tools(self) -> None:
        """Register the tools (importing their modules), unless that is done."""
        if not self._registered:
            from ghl_sms.mcp_server._tools import register_tools

            register_tools(self)
            self._registered = True

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        self._want()
        self.ensure_tools()
        redact = _redactor(context)
        tool = next((t for t in await super().list_tools() if t.name == name), None)
        try:
            if tool is not None:
                known = list(tool.input_schema.get("properties", {}))
                unknown = set(arguments) - set(known)
                if unknown:
                    raise unknown_arguments_error(name, unknown, known)
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            anticipated = anticipated_cause(name, exc)
            if anticipated is None:
                raise  # a bug
            return error_result(name, anticipated, redact)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                exc = argument_error(name, exc.__cause__)
            return error_result(name, exc, redact)

    async def list_tools(self) -> list[Tool]:
        self._want()
        if self._cached is not None and not self._registered:
            return self._cached
        self.ensure_tools()
        tools = [
            tool.model_copy(
                update={
                    "description": " ".join((tool.description or "").split()),
                    "input_schema": compact_schema(tool.input_schema),
                    "output_schema": compact_schema(tool.output_schema, output=True)
                    if tool.output_schema is not None
                    else None,
                    "annotations": compact_hints(tool.annotations),
                }
            )
            for tool in await super().list_tools()
        ]
        if self._listing is not None and not self._listing.saved:
            self._listing.save(tools)  # the next start answers from it
        return tools


def _redactor(context: Context[AppState, Any] | None) -> Callable[[str], str]:
    """The GHL client's redaction of its token, once the lifespan has opened it."""
    try:
        state = context.request_context.lifespan_context if context is not None else None
    except ValueError:  # no request (a direct call in a test)
        state = None
    if state is None:
        return str
    return state.locations.redact


def build_server(
    locations: ServiceFactory | LocationSet,
    *,
    confirm: bool = True,
    listing_cache: Path | None = None,
) -> MCPServer[AppState]:
    """The MCP server over one location's service factory, or over a ``LocationSet``.
    ``confirm=False`` skips the user's confirmation of each send (for trusted
    automation); every other safety check still applies. ``listing_cache``: a folder
    where the compact ``tools/list`` is kept between starts (``_listing``)."""
    served = locations if isinstance(locations, LocationSet) else LocationSet.single(locations)

    @asynccontextmanager
    async def lifespan(server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        # The task group closes first: campaign runs stop before their services close.
        async with AsyncExitStack() as stack, anyio.create_task_group() as tasks:
            pool = LocationPool(served, stack=stack, tasks=tasks)
            assert isinstance(server, _CompactServer)
            server.wanted = anyio.Event()
            tasks.start_soon(_warm_up, server, server.wanted, pool)
            try:
                yield AppState(locations=pool, confirm=confirm)
            finally:
                tasks.cancel_scope.cancel()

    server = _CompactServer(
        "ghl-sms", version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan
    )
    if listing_cache is not None:
        server._listing = ToolListing(listing_cache)
        server._cached = server._listing.load()
    if server._cached is None:
        server.ensure_tools()
    return server


async def _warm_up(server: _CompactServer, wanted: anyio.Event, pool: LocationPool) -> None:
    """Once the client has its tool list: what its first call would otherwise wait for."""
    await wanted.wait()
    await anyio.sleep(WARM_UP_AFTER)
    server.ensure_tools()
    await pool.warm_up()
