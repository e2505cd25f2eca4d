"""Property: every MCP tool call, sensible or not, gets a result or an error a model can act on.

Arguments are generated from each tool's published inputSchema (tools/list): plausible
values (seeded contacts and numbers), nonsense, wrong types, missing required fields and
unknown arguments, a few calls in a row through the SDK's in-process client, with a user
who approves, a user who declines, or a client without elicitation. For each call: a
result, or an error text without a traceback, pydantic's text and links, raw Python
exception names or a bare "Error executing tool"; nothing logged as unexpected; and every
message the sandbox holds afterwards was reported by the call that sent it, to the number
it went to.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzz import Tally, harness_settings
from support.fuzz_mcp import McpFuzzer, arguments_for, clean_send, list_tool_schemas, session
from support.fuzz_values import fixture_files

TALLY = Tally()
ToolCall = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    TALLY.dump("mcp")


@functools.cache
def schemas() -> dict[str, dict[str, Any]]:
    """tools/list, fetched at the first draw (not at collection, so the gate costs nothing)."""
    return list_tool_schemas()


def test_the_harness_covers_every_published_tool() -> None:
    assert len(schemas()) >= 10, sorted(schemas())
    assert {"sms_send", "sms_bulk_send", "sms_cancel", "sms_status"} <= set(schemas())
    assert {"sms_contacts", "sms_history", "sms_campaign", "sms_check"} <= set(schemas())


def calls_of(name: str) -> st.SearchStrategy[ToolCall]:
    return arguments_for(schemas()[name]).map(lambda arguments: (name, arguments))


TOOL_CALLS = st.deferred(lambda: st.sampled_from(sorted(schemas())).flatmap(calls_of))
# sms_send more often: it is where a wrong recipient or a double text would hurt.
SEND_CALLS = st.one_of(
    clean_send().map(lambda arguments: ("sms_send", arguments)),
    st.deferred(lambda: calls_of("sms_send")),
)


@harness_settings(60)
@given(
    answer=st.sampled_from(("accept", "legacy", "decline")),
    script=st.lists(st.one_of(SEND_CALLS, TOOL_CALLS), min_size=1, max_size=4),
)
def test_every_tool_call_gets_a_result_or_an_actionable_error(
    answer: Any, script: list[ToolCall]
) -> None:
    with tempfile.TemporaryDirectory(prefix="ghl-sms-harness-") as tmp:
        fixture_files(Path(tmp))
        fuzzer = McpFuzzer(Path(tmp))

        async def run() -> None:
            async with session(answer) as (client, s):
                for tool, arguments in script:
                    await fuzzer.call_and_check(client, s, tool, arguments)

        try:
            anyio.run(run)
        finally:
            TALLY.add("examples")
            TALLY.add("calls", fuzzer.calls)
            TALLY.add("errors", fuzzer.errors)
            TALLY.add("texted", fuzzer.texted)
