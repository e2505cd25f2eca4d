"""How long an MCP client waits for ghl-sms, beside the floor, and what its tool list costs.

Spawns ``ghl-sms mcp --sandbox`` the way a desktop client does (stdio, a fresh data
directory, a minimal environment), sends initialize, notifications/initialized and
tools/list, and times spawn -> the tools/list answer. The floor is a one-tool
``MCPServer`` on the same SDK and interpreter, spawned the same way; the two alternate
run by run, so a busy machine slows both alike. Prints both medians, the difference
(target: ghl-sms within 150 ms of the floor) and the size of the compact tools/list
result (the ``tools`` array as it comes over the wire, in characters; budget: 11,000
for all the tools).

    python bench/mcp_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUESTS = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]  # fmt: skip

FLOOR = '''
from mcp.server import MCPServer

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


server.run()
'''

BUDGET_CHARS = 11_000
TARGET_MS = 150


def ghl_sms_command() -> list[str]:
    script = Path(sys.executable).parent / "ghl-sms"
    found = str(script) if script.exists() else shutil.which("ghl-sms")
    return (
        [found, "mcp", "--sandbox"]
        if found
        else [sys.executable, "-m", "ghl_sms", "mcp", "--sandbox"]
    )


def one_run(command: list[str]) -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and the answer's tools size."""
    with tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": data, "GHL_SMS_DATA_DIR": data}
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=data,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write("".join(json.dumps(r) + "\n" for r in REQUESTS).encode())
            process.stdin.flush()
            while True:
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{command[0]} exited before answering tools/list")
                message = json.loads(line)
                if message.get("id") == 2:
                    elapsed = time.perf_counter() - started
                    tools = message["result"]["tools"]
                    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
                    return elapsed, size
        finally:
            process.stdin.close()
            process.wait(timeout=30)


def spread(ms: list[float]) -> str:
    return f"median {statistics.median(ms):4.0f} ms (min {min(ms):.0f}, max {max(ms):.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scripts:
        floor_script = Path(scripts) / "floor.py"
        floor_script.write_text(FLOOR)
        floor, ours = [sys.executable, str(floor_script)], ghl_sms_command()
        one_run(floor)  # warm the OS file cache and .pyc files, as a second start would be
        one_run(ours)
        floor_ms, ours_ms, sizes = [], [], set()
        for _ in range(args.runs):  # alternating: both see the same machine
            floor_ms.append(one_run(floor)[0] * 1000)
            elapsed, size = one_run(ours)
            ours_ms.append(elapsed * 1000)
            sizes.add(size)
    difference = statistics.median(ours_ms) - statistics.median(floor_ms)
    print(f"spawn -> first tools/list answer, {args.runs} runs each, alternating:")
    print(f"  floor (one-tool MCPServer)  {spread(floor_ms)}")
    print(f"  ghl-sms mcp --sandbox       {spread(ours_ms)}")
    verdict = "within" if difference <= TARGET_MS else "OVER"
    target = f"{verdict} the {TARGET_MS} ms target"
    print(f"  difference of the medians   {difference:+4.0f} ms ({target})")
    shown = ", ".join(f"{size:,}" for size in sorted(sizes))
    print(f"tools/list size: {shown} characters (budget for all the tools: {BUDGET_CHARS:,})")


if __name__ == "__main__":
    main()
