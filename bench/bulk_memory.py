"""Peak memory of a 100,000-recipient campaign: import, dry run, and (optionally) sending.

Writes a CSV of ``--recipients`` rows (phone, first name, appointment) to a temporary
directory, imports it into a new campaign (streamed into SQLite in batches), runs the
dry run over it, and prints the process's peak resident memory after each step. With
``--send-seconds N`` it then sends the campaign for N seconds against the sandbox
served on 127.0.0.1 (limits out of the way) and prints the peak again: the pump holds
only the recipients in flight, whatever the campaign's size.

    python bench/bulk_memory.py
    python bench/bulk_memory.py --recipients 100000 --send-seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


def peak_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "first_name", "appointment"])
        for i in range(rows):
            area = 201 + (i // 9000) % 700
            writer.writerow([f"+1{area:03d}555{1000 + i % 9000:04d}", f"Pat{i}", "Mon 3pm"])


def serve(port: int, db: str) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(db_path=db, burst_limit=10**9, daily_limit=10**9)

    def ready(url: str) -> None:
        print(json.dumps({"url": url, "token": sandbox.token}), flush=True)

    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=port, on_ready=ready))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main_async(args: argparse.Namespace, tmp: Path, server: dict[str, Any] | None) -> None:
    from ghl_sms._clock import SystemClock
    from ghl_sms.ghl import GhlClient, RateLimits, RequestPacer
    from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, CsvSource, EngineConfig
    from ghl_sms.ops.ledger import Ledger
    from ghl_sms.sandbox import DEMO_LOCATION_ID

    print(f"after imports: {peak_mb():.0f} MB peak, {current_mb():.0f} MB now")
    source = tmp / "list.csv"
    write_csv(source, args.recipients)
    clock = SystemClock()

    @asynccontextmanager
    async def connect(location_id: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        if server is None:
            raise RuntimeError("the dry run makes no request")
        client = GhlClient(
            token=server["token"],
            location_id=location_id,
            base_url=server["url"],
            clock=clock,
            pacer=pacer,
            rng=random.Random(0),
        )
        async with client:
            yield client

    ledger = Ledger.open(tmp / "ledger.db", clock)
    engine = BulkEngine.sqlite(
        ledger,
        connect=connect,
        clock=clock,
        config=EngineConfig(
            workers=16, rate_limits=RateLimits(burst=10_000, window=1.0, daily=10**9)
        ),
    )
    spec = CampaignSpec(
        location_id=DEMO_LOCATION_ID,
        template="Hi {first_name|there}, see you {appointment}. Reply STOP to opt out.",
        transactional=True,
    )
    started = time.perf_counter()
    campaign = await engine.create(spec, CsvSource(source))
    print(
        f"import of {campaign.total:,} recipients: {time.perf_counter() - started:.1f} s, "
        f"{peak_mb():.0f} MB peak"
    )
    started = time.perf_counter()
    preview = await engine.preview(campaign.id)
    skipped = ", ".join(f"{r.count:,} {r.code}" for r in preview.skipped) or "none"
    print(
        f"dry run: {preview.would_send:,} would be sent (skipped: {skipped}), "
        f"{preview.messages_parts:,} parts, ${preview.cost_estimate_usd:,.2f}; "
        f"{time.perf_counter() - started:.1f} s, {peak_mb():.0f} MB peak"
    )
    if server is not None:
        engine.start(campaign.id)
        run = asyncio.ensure_future(engine.run([campaign.id]))
        await asyncio.sleep(args.send_seconds)
        engine.pause(campaign.id)
        await run
        status = engine.status(campaign.id)
        print(
            f"sending for {args.send_seconds:g} s: {status.counts['sent']:,} sent of "
            f"{campaign.total:,}; {peak_mb():.0f} MB peak"
        )
    ledger.close()
    print(f"peak resident memory: {peak_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=0.0)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db)
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.send_seconds:
            asyncio.run(main_async(args, tmp, None))
            return
        argv = [sys.executable, __file__, "--serve", str(free_port()), "--db", str(tmp / "sb.db")]
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the sandbox did not start")
            asyncio.run(main_async(args, tmp, json.loads(line)))
        finally:
            process.terminate()
            process.communicate(timeout=10)


if __name__ == "__main__":
    main()
