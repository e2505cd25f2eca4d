"""Serve a sandbox over loopback in a child process, for tests and benches that need a
real socket (a campaign process killed with SIGKILL).

    python tests/support/served_sandbox.py DB_PATH [--contacts N] [--burst B --window W]

Prints one JSON line ``{"url": ..., "contacts": [...], ...}`` once it listens on a free
port of 127.0.0.1, then serves until terminated.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _serve(args: argparse.Namespace) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(
        db_path=args.db, burst_limit=args.burst, burst_window=args.window, daily_limit=args.daily
    )
    contacts = []
    for i in range(args.contacts):
        contact = sandbox.create_contact(
            {"firstName": f"Pat{i}", "phone": f"+1415555{2000 + i:04d}"}
        )
        contacts.append(contact["id"])
    locations = {sandbox.location_id: sandbox.token}
    for n in range(args.locations - 1):
        location_id = sandbox.create_location(
            name=f"Bench {n}", numbers=[f"+1415555{9000 + n:04d}"]
        )
        locations[location_id] = sandbox.create_token(location_id)
        for i in range(args.contacts):
            contact = sandbox.create_contact(
                {"firstName": f"Pat{i}", "phone": f"+1{212 + n:03d}555{2000 + i:04d}"},
                location_id=location_id,
            )
            contacts.append(contact["id"])

    def ready(url: str) -> None:
        info = {
            "url": url,
            "contacts": contacts,
            "locations": locations,
            "seed": sandbox.seed_ids,
        }
        print(json.dumps(info), flush=True)

    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=0, on_ready=ready))


@contextmanager
def served(db: Path, **options: Any) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """Run this script in a child process; yields (process, its ready line)."""
    argv = [sys.executable, __file__, str(db)]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox did not start")
        yield process, json.loads(line)
    finally:
        process.terminate()
        process.communicate(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--contacts", type=int, default=0)
    parser.add_argument("--locations", type=int, default=1)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--daily", type=int, default=200_000)
    _serve(parser.parse_args())


if __name__ == "__main__":
    main()
