"""The MCP server in-process (``mcp.Client(server)``) over an in-memory sandbox stack."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from mcp import Client

from ghl_sms.mcp_server.server import build_server
from support.mcp_tools import ToolCalls, User
from support.stack import Stack, stack

Mode = Literal["auto", "legacy"]


@dataclass
class Session(ToolCalls):
    stack: Stack

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
