"""The MCP tools under the property harness: arguments from each tool's inputSchema, and
the invariants every call keeps.

The server runs in-process (``mcp.Client(server)``) over an in-memory sandbox stack, as
tests/mcp_server/conftest.py builds it; the user answers confirmations as told.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
from hypothesis import strategies as st
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent

from ghl_sms._clock import FakeClock
from ghl_sms.mcp_server.server import build_server
from support.fuzz import (
    CONTACT_IDS,
    PHONES,
    SENDER_NUMBERS,
    Outbound,
    raw_python_text,
    violation,
)
from support.fuzz_values import (
    AT_VALUES,
    CAMPAIGN_IDS,
    CLEAN_TEXT,
    CONTACT_VALUES,
    CURSORS,
    FILE_NAMES,
    FROM_VALUES,
    KEY_VALUES,
    MEDIA_VALUES,
    MESSAGE_IDS,
    PHONE_VALUES,
    TAGS,
    TEXT_VALUES,
    nonsense,
)
from support.stack import Stack, stack

__all__ = [
    "McpFuzzer",
    "arguments_for",
    "clean_send",
    "error_text",
    "list_tool_schemas",
    "outbound",
    "session",
]

Answer = Literal["accept", "decline", "legacy"]

# Values by argument name; an argument not named here gets values by its schema type.
_BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "contact_id": CONTACT_VALUES,
    "to_number": PHONE_VALUES,
    "conversation_id": st.one_of(st.just("nope"), nonsense),
    "text": TEXT_VALUES,
    "template": TEXT_VALUES,
    "send_at": AT_VALUES,
    "from_number": FROM_VALUES,
    "media_urls": st.lists(MEDIA_VALUES, max_size=3),
    "idempotency_key": KEY_VALUES,
    "campaign_key": KEY_VALUES,
    "message_id": MESSAGE_IDS,
    "campaign_id": CAMPAIGN_IDS,
    "cursor": CURSORS,
    "tag": TAGS,
    "contact_ids": st.lists(CONTACT_VALUES, max_size=4),
    "csv_path": FILE_NAMES.map(lambda name: f"$TMP/{name}"),
    "limit": st.sampled_from((1, 20, 50, 0, 51, -1, 10**30)),
    "per_minute": st.sampled_from((1, 60, 0, -3, 10**30)),
    # issue 13: contacts, history, campaigns, opt-outs
    "query": st.one_of(
        st.sampled_from(("Ava", "Ben Carter", "+14155550100", "ben.carter@example.com", "zz")),
        nonsense,
    ),
    "action": st.sampled_from(("list", "status", "pause", "resume", "stop")),
    "status": st.sampled_from(("failed", "scheduled", "sent,delivered", "lost", "")),
    "since": st.one_of(
        st.sampled_from(("2d", "1h", "2026-03-01T00:00:00Z", "2099-01-01")), nonsense
    ),
    "opt_out": st.one_of(CONTACT_VALUES, PHONE_VALUES),
    # issue 14: the sub-account (the harness serves one: the sandbox's demo location)
    "location": st.one_of(
        st.sampled_from(("sandboxDemoLocation1", " sandboxDemoLocation1 ", "", "uptown")),
        nonsense,
    ),
}
_WRONG_TYPES = st.sampled_from((5, -1, 1.5, None, True, [], {}, "text", ["a", 1], {"x": 1}))


def _by_type(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(-(10**6), 10**6)
    if kind == "number":
        return st.floats(allow_nan=False)
    if kind == "array":
        return st.lists(nonsense, max_size=3)
    return nonsense


@st.composite
def arguments_for(draw: st.DrawFn, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a tool: each property given or not, a plausible value or a wrong type;
    a required one sometimes missing; sometimes an argument the tool does not have."""
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    arguments: dict[str, Any] = {}
    for name, prop in properties.items():
        present = draw(st.sampled_from((True, True, True, False))) if name in required else (
            draw(st.sampled_from((False, False, True)))
        )  # fmt: skip
        if not present:
            continue
        plausible = _BY_NAME.get(name, _by_type(prop))
        if prop.get("type") == "boolean":
            plausible = st.booleans()
        wrong = draw(st.sampled_from([False] * 9 + [True]))
        arguments[name] = draw(_WRONG_TYPES if wrong else plausible)
    if draw(st.sampled_from([False] * 14 + [True])):
        arguments["bogus_argument"] = draw(_WRONG_TYPES)
    return arguments


@st.composite
def clean_send(draw: st.DrawFn) -> dict[str, Any]:
    """sms_send as a careful assistant calls it: one seeded recipient, plain text, and
    confirmed (the user approved) unless it is a dry run."""
    arguments: dict[str, Any] = {"text": draw(CLEAN_TEXT)}
    if draw(st.booleans()):
        arguments["contact_id"] = draw(st.sampled_from(CONTACT_IDS))
    else:
        arguments["to_number"] = draw(st.sampled_from(PHONES))
    extras = {
        "send_at": st.sampled_from(("2h", "1d2h")), "transactional": st.just(True),
        "dry_run": st.just(True), "idempotency_key": st.sampled_from(("k1", "k2")),
        "allow_repeat": st.just(True), "from_number": st.sampled_from(SENDER_NUMBERS),
    }  # fmt: skip
    for name in draw(st.lists(st.sampled_from(sorted(extras)), max_size=2, unique=True)):
        arguments[name] = draw(extras[name])
    arguments["confirmed"] = True
    return arguments


@dataclass
class _User:
    """Answers the server's confirmation questions."""

    action: Literal["accept", "decline"]

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        if self.action != "accept":
            return ElicitResult(action=self.action)
        return ElicitResult(action="accept", content={"send": True})


class _Unexpected(logging.Handler):
    """Collects what the SDK logs when a tool raised something no one anticipated."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "unexpected" in record.getMessage().lower():
            self.records.append(record.getMessage())


@asynccontextmanager
async def session(
    answer: Answer, clock: FakeClock | None = None
) -> AsyncIterator[tuple[Client, Stack]]:
    async with stack(clock=clock) as s:
        server = build_server(s.service_factory(), confirm=True)
        mode: Literal["auto", "legacy"] = "legacy" if answer == "legacy" else "auto"
        callback = None if answer == "legacy" else _User(answer)
        async with Client(server, mode=mode, elicitation_callback=callback) as client:
            yield client, s


def list_tool_schemas() -> dict[str, dict[str, Any]]:
    """tools/list, once: name -> inputSchema."""

    async def fetch() -> dict[str, dict[str, Any]]:
        async with session("accept") as (client, _):
            listed = await client.list_tools()
            return {tool.name: dict(tool.input_schema) for tool in listed.tools}

    return anyio.run(fetch)


def outbound(s: Stack) -> dict[str, Outbound]:
    rows = s.sandbox.store.conn.execute(
        "SELECT m.id, m.to_number, m.contact_id, c.phone, m.body, m.status "
        "FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id "
        "WHERE m.direction = 'outbound' ORDER BY m.seq"
    ).fetchall()
    return {
        str(r[0]): Outbound(str(r[0]), r[1], str(r[2]), r[3], str(r[4]), str(r[5])) for r in rows
    }


def error_text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


@dataclass
class McpFuzzer:
    """One generated example: one session, a few tool calls in a row."""

    tmp: Path
    calls: int = 0
    errors: int = 0
    texted: int = 0
    message_ids: list[str] = field(default_factory=list)
    campaign_ids: list[str] = field(default_factory=list)
    bulk_started: bool = False

    def substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            msg = self.message_ids[-1] if self.message_ids else "noSuchMessage00000001"
            cmp = self.campaign_ids[-1] if self.campaign_ids else "cmp_000000000000"
            return value.replace("$MSG", msg).replace("$CMP", cmp).replace("$TMP", str(self.tmp))
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        return value

    async def call_and_check(
        self, client: Client, s: Stack, tool: str, arguments: dict[str, Any]
    ) -> None:
        arguments = {k: self.substitute(v) for k, v in arguments.items()}
        call = {"tool": tool, "arguments": arguments}
        before = outbound(s)
        handler = _Unexpected()
        logging.getLogger().addHandler(handler)
        try:
            result = await client.call_tool(tool, arguments)
        except Exception as exc:  # the protocol itself failed: the call got no answer
            violation("crash", "mcp", call, f"{type(exc).__name__}: {exc}")
            return
        finally:
            logging.getLogger().removeHandler(handler)
            self.calls += 1
        after = outbound(s)
        new = [m for mid, m in after.items() if mid not in before]
        self.texted += len(new)
        if handler.records:
            violation("crash", "mcp", call, "the server logged: " + " | ".join(handler.records))
        out = result.structured_content or {}
        if result.is_error:
            self.errors += 1
            self._check_error(call, error_text(result))
        else:
            self.campaign_ids += [out["campaign_id"]] if out.get("campaign_id") else []
            if tool == "sms_bulk_send" and out.get("outcome") in ("started", "already_started"):
                self.bulk_started = True
        self._check_sends(call, out if not result.is_error else {}, new)

    def _check_error(self, call: dict[str, Any], text: str) -> None:
        stripped = text.strip()
        if not stripped or (
            stripped.startswith("Error executing tool") and len(stripped.split(":", 1)) < 2
        ):
            violation("unexplained", "mcp", call, f"the error says only {text!r}")
            return
        leak = raw_python_text(text)
        if leak:
            violation("raw_text", "mcp", call, f"{leak!r} in: {text}")

    def _check_sends(
        self, call: dict[str, Any], out: Mapping[str, Any], new: list[Outbound]
    ) -> None:
        tool = call["tool"]
        reported = out.get("message_id") if tool == "sms_send" else None
        sent_now = tool == "sms_send" and out.get("outcome") in ("sent", "scheduled")
        if sent_now:
            self.message_ids.append(str(reported))
            match = [m for m in new if m.id == reported]
            if not match:
                violation(
                    "recipient", "mcp", call,
                    f"reported {out.get('outcome')} {reported!r}; the sandbox has no such message",
                )  # fmt: skip
            elif match[0].texted != out.get("to_number"):
                violation(
                    "recipient", "mcp", call,
                    f"reported to_number={out.get('to_number')!r}; the sandbox texted "
                    f"{match[0].texted}",
                )  # fmt: skip
        unexplained = [m for m in new if m.id != reported]
        if unexplained and not self.bulk_started:
            violation(
                "side_effect", "mcp", call,
                f"texted {[m.texted for m in unexplained]} without reporting a send: {dict(out)}",
            )  # fmt: skip
