"""How long an MCP client waits for ghl-sms, beside the floor, and what its tool list costs.

Spawns ``ghl-sms mcp --sandbox`` the way a desktop client does (stdio, a fresh data
directory, a minimal environment), sends initialize, notifications/initialized and
tools/list, and times spawn -> the tools/list answer. The floor is a one-tool
``MCPServer`` on the same SDK and interpreter, spawned the same way; they alternate run
by run, so a busy machine slows all alike. Prints the medians, the difference (target:
ghl-sms within 150 ms of the floor) and the size of the compact tools/list result (the
``tools`` array as it comes over the wire, in characters; budget: 11,000 for all the
tools).

ghl-sms keeps its compact tools/list beside its bytecode (mcp_server/_listing.py), so
like the .pyc files it is built by the first (warm-up) start and read by the others;
the "not cached" line is a start that builds it (PYTHONDONTWRITEBYTECODE=1), as after
an upgrade or from a read-only install.

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


def one_run(command: list[str], **extra: str) -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and the answer's tools size."""
    with tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": data, "GHL_SMS_DATA_DIR": data}
        env.update(extra)
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
        floor_ms, ours_ms, cold_ms, sizes = [], [], [], set()
        for _ in range(args.runs):  # alternating: all see the same machine
            floor_ms.append(one_run(floor)[0] * 1000)
            elapsed, size = one_run(ours)
            ours_ms.append(elapsed * 1000)
            sizes.add(size)
            elapsed, size = one_run(ours, PYTHONDONTWRITEBYTECODE="1")
            cold_ms.append(elapsed * 1000)
            sizes.add(size)
    floor_median = statistics.median(floor_ms)
    difference = statistics.median(ours_ms) - floor_median
    cold = statistics.median(cold_ms) - floor_median
    print(f"spawn -> first tools/list answer, {args.runs} runs each, alternating:")
    print(f"  floor (one-tool MCPServer)             {spread(floor_ms)}")
    print(f"  ghl-sms mcp --sandbox                  {spread(ours_ms)}  {difference:+4.0f} ms")
    print(f"  ghl-sms mcp --sandbox, not cached      {spread(cold_ms)}  {cold:+4.0f} ms")
    verdict = "within" if difference <= TARGET_MS else "OVER"
    print(f"  ghl-sms is {verdict} the {TARGET_MS} ms target ({difference:+.0f} ms)")
    shown = ", ".join(f"{size:,}" for size in sorted(sizes))
    print(f"tools/list size: {shown} characters (budget for all the tools: {BUDGET_CHARS:,})")


if __name__ == "__main__":
    main()
