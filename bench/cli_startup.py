"""How long ``ghl-sms`` takes to start, beside the floors it cannot go below.

Spawns each command to completion (a fresh data directory, a minimal environment) in
rounds, one of each per round, so a busy machine slows them alike, and prints the
median and spread of each. Targets: ``ghl-sms --help`` and ``ghl-sms preview`` in under
300 ms. The floors: the bare interpreter, importing click (what any command needs) and
importing the MCP SDK's server (what ``ghl-sms mcp`` needs before it can say anything).

    python bench/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 300
TARGETED = ("ghl-sms --help", "ghl-sms preview hello")


def ghl_sms() -> list[str]:
    script = Path(sys.executable).parent / "ghl-sms"
    found = str(script) if script.exists() else shutil.which("ghl-sms")
    return [found] if found else [sys.executable, "-m", "ghl_sms"]


def commands() -> dict[str, list[str]]:
    python = [sys.executable]
    return {
        "floor: python -c pass": [*python, "-c", "pass"],
        "floor: import click": [*python, "-c", "import click"],
        "floor: import mcp.server": [*python, "-c", "import mcp.server"],
        "ghl-sms --version": [*ghl_sms(), "--version"],
        "ghl-sms --help": [*ghl_sms(), "--help"],
        "ghl-sms preview hello": [*ghl_sms(), "preview", "hello"],
        "ghl-sms send --help": [*ghl_sms(), "send", "--help"],
    }


def one_run(command: list[str]) -> float:
    """Milliseconds from spawn to exit; a failing command stops the bench."""
    with tempfile.TemporaryDirectory() as data:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": data, "GHL_SMS_DATA_DIR": data}
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=data, check=True, capture_output=True)
        return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = commands()
    for command in runs.values():
        one_run(command)  # warm the OS file cache and .pyc files
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.runs):
        for name, command in runs.items():
            times[name].append(one_run(command))
    width = max(len(name) for name in runs)
    print(f"spawn -> exit, {args.runs} rounds:")
    for name, ms in times.items():
        median = statistics.median(ms)
        mark = ""
        if name in TARGETED:
            mark = "  ok" if median < TARGET_MS else f"  OVER {TARGET_MS} ms"
        print(
            f"  {name:<{width}}  median {median:4.0f} ms (min {min(ms):.0f}, max {max(ms):.0f})"
            f"{mark}"
        )


if __name__ == "__main__":
    main()
