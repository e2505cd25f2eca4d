"""Calling the MCP server's tools from a test, and the user who answers its questions:
shared by the in-process fixtures (tests/mcp_server/conftest.py) and the tests that
build their own server (several sub-accounts, the CLI's config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mcp import Client
from mcp.client import ClientRequestContext
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult

__all__ = ["ToolCalls", "User"]


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
class ToolCalls:
    """A connected client's tool calls: ``ok`` wants a result, ``error`` a refusal."""

    client: Client

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
