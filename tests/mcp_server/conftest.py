"""The MCP server in-process (``mcp.Client(server)``) over an in-memory sandbox stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client import ClientRequestContext
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

from ghl_sms.mcp_server.server import build_server
from support.stack import Stack, stack

Mode = Literal["auto", "legacy"]


@dataclass
class User:
    """Answers the server's confirmation questions and remembers them."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    send: bool = True
    asked: list[str] = field(default_factory=list)

    async def __call__(
        self, context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult:
        self.asked.append(params.message)
        if self.action != "accept":
            return ElicitResult(action=self.action)
        return ElicitResult(action="accept", content={"send": self.send})


@dataclass
class Session:
    client: Client
    stack: Stack

    async def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return await self.client.call_tool(tool, arguments)

    async def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
        assert result.structured_content is not None
        return result.structured_content

    async def error(self, tool: str, **arguments: Any) -> str:
        result = await self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        text: str = result.content[0].text  # type: ignore[union-attr]
        return text

    def sent(self, contact_id: str) -> list[tuple[str, str, str]]:
        return self.stack.messages(contact_id)

    def texted(self, message_id: str) -> str | None:
        """The number the sandbox (standing in for GHL) texted for this message."""
        row = self.stack.sandbox.store.conn.execute(
            "SELECT to_number FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else row[0]

    def outbound_count(self) -> int:
        """Every outbound message the sandbox holds, whoever it went to."""
        row = self.stack.sandbox.store.conn.execute(
            "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"
        ).fetchone()
        return int(row[0])


Connect = Callable[..., AbstractAsyncContextManager[Session]]


@pytest.fixture
def user() -> User:
    """A user who approves every send; set ``action``/``send`` to refuse."""
    return User()


@pytest.fixture
def connect() -> Connect:
    @asynccontextmanager
    async def open_session(
        *,
        mode: Mode = "auto",
        user: User | None = None,
        confirm: bool = True,
        **stack_options: Any,
    ) -> AsyncIterator[Session]:
        async with stack(**stack_options) as s:
            server = build_server(s.service_factory(), confirm=confirm)
            async with Client(server, mode=mode, elicitation_callback=user) as client:
                yield Session(client, s)

    return open_session
