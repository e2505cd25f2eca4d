"""How long an MCP client waits for ghl-sms, and what its tool list costs in context.

Spawns ``ghl-sms mcp --sandbox`` the way a desktop client does (stdio, a fresh data
directory, a minimal environment), sends initialize, notifications/initialized and
tools/list, and times spawn -> the tools/list answer. Prints the median of several runs
and the size of the tools/list result (the ``tools`` array as it comes over the wire,
in characters). Budget: the ten tools planned must stay under 10,000 characters.

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


def command() -> list[str]:
    script = Path(sys.executable).parent / "ghl-sms"
    found = str(script) if script.exists() else shutil.which("ghl-sms")
    return (
        [found, "mcp", "--sandbox"]
        if found
        else [sys.executable, "-m", "ghl_sms", "mcp", "--sandbox"]
    )


def one_run() -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and the answer's tools size."""
    with tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": data, "GHL_SMS_DATA_DIR": data}
        started = time.perf_counter()
        process = subprocess.Popen(
            command(),
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
                    raise RuntimeError("the server exited before answering tools/list")
                message = json.loads(line)
                if message.get("id") == 2:
                    elapsed = time.perf_counter() - started
                    tools = message["result"]["tools"]
                    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
                    return elapsed, size
        finally:
            process.stdin.close()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    one_run()  # warm the OS file cache and .pyc files, as a second start would be
    times, sizes = [], set()
    for _ in range(args.runs):
        elapsed, size = one_run()
        times.append(elapsed)
        sizes.add(size)
    ms = [t * 1000 for t in times]
    print(
        f"spawn -> first tools/list answer: median {statistics.median(ms):.0f} ms over "
        f"{args.runs} runs (min {min(ms):.0f}, max {max(ms):.0f})"
    )
    shown = ", ".join(f"{size:,}" for size in sorted(sizes))
    print(f"tools/list size: {shown} characters (budget for all ten tools: 10,000)")


if __name__ == "__main__":
    main()
