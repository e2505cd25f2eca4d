"""The packaging tests' inputs: the built wheel and sdist, uv and the mcpb validator.

CI (`.ci/run`) builds the distributions and passes their paths in GHL_SMS_WHEEL and
GHL_SMS_SDIST; on a user's machine the tests that need them skip with the reason, and
GHL_SMS_REQUIRE_PACKAGING=1 (set by CI) turns every such skip into a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MCPB_DIR = ROOT / "packaging" / "mcpb"
REQUIRED = os.environ.get("GHL_SMS_REQUIRE_PACKAGING", "") not in ("", "0")


def need(condition: bool, reason: str) -> None:
    """Skip without it on a user's machine; fail in CI, where it must be there."""
    if condition:
        return
    if REQUIRED:
        pytest.fail(f"{reason} (GHL_SMS_REQUIRE_PACKAGING is set)")
    pytest.skip(reason)


def built(variable: str, suffix: str, how: str = "python -m build") -> Path:
    """The built file a variable names, after checking it is there."""
    value = os.environ.get(variable, "")
    need(value != "", f"{variable} is not set: build it (`{how}`) and point it there")
    path = Path(value)
    need(path.is_file() and path.name.endswith(suffix), f"{variable}={value} is not a {suffix}")
    return path


def uv_executable() -> str:
    """uv from GHL_SMS_UV, else from PATH."""
    found = os.environ.get("GHL_SMS_UV") or shutil.which("uv")
    need(found is not None and Path(found).is_file(), "uv is not installed: pip install uv")
    assert found is not None
    return found


def mcpb_cli() -> list[str]:
    """The official MCP Bundle CLI (@anthropic-ai/mcpb, pinned in packaging/mcpb): from
    GHL_SMS_MCPB_CLI, else the one `npm ci --prefix packaging/mcpb` installs."""
    found = os.environ.get("GHL_SMS_MCPB_CLI") or str(MCPB_DIR / "node_modules" / ".bin" / "mcpb")
    need(
        Path(found).is_file() and shutil.which("node") is not None,
        "the mcpb validator is not installed: npm ci --prefix packaging/mcpb",
    )
    return [found]


async def served_tool_names() -> set[str]:
    """The tools `ghl-sms mcp` serves, read from the server object (nothing started)."""
    from ghl_sms.mcp_server.server import build_server

    def no_service() -> Any:
        raise AssertionError("listing tools needs no service")

    return {tool.name for tool in await build_server(no_service).list_tools()}


def load_module(path: Path) -> ModuleType:
    """A script that is not in a package (scripts/, packaging/), imported by path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses and the like look themselves up here
    spec.loader.exec_module(module)
    return module
