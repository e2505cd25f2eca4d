"""The one-line install: `uvx --from <wheel> ghl-sms mcp --sandbox` serves the tools over stdio.

uv builds a throwaway environment from the wheel and PyPI (the dependencies), so this runs
only where CI passes the wheel (GHL_SMS_WHEEL) and uv (GHL_SMS_UV or PATH)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from support.packaging import built, served_tool_names, uv_executable


@pytest.mark.anyio
async def test_uvx_from_the_wheel_answers_tools_list(tmp_path: Path) -> None:
    wheel, uv = built("GHL_SMS_WHEEL", ".whl"), uv_executable()
    # Only what uv needs to find its cache and PyPI: nothing of this test's own environment
    # (a VIRTUAL_ENV or PYTHONPATH would let the server import the checkout instead).
    kept = ("UV_", "SSL_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "XDG_", "HOME", "PATH")
    passed = {k: v for k, v in os.environ.items() if k.startswith(kept)}
    env = {
        **passed,
        "GHL_SMS_DATA_DIR": str(tmp_path / "data"),
        "UV_PYTHON_DOWNLOADS": "never",  # the interpreter running the tests, not a download
        "UV_NO_PROGRESS": "1",
    }
    uvx = ["tool", "run", "--isolated", "--python", sys.executable, "--from", str(wheel)]
    params = StdioServerParameters(
        command=uv, args=[*uvx, "ghl-sms", "mcp", "--sandbox"], env=env, cwd=str(tmp_path)
    )
    with anyio.fail_after(240):  # a cold uv cache downloads the dependencies first
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            numbers = await client.call_tool("sms_numbers", {})
    assert names == await served_tool_names() and "sms_send" in names
    assert numbers.structured_content["numbers"][0]["is_default"] is True
