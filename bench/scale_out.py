"""Campaigns on PostgreSQL sent by 1, 2 and 4 ``ghl-sms worker`` processes: throughput,
pacing, 429s, CPU per process class, and a worker's peak memory with 100 pumps.

Needs a PostgreSQL server (``--url``, default ``$GHL_SMS_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``): each run gets a fresh database created
there and migrated with ``ghl-sms db upgrade``, dropped at the end.

The sandbox (tests/scale/scale_sandbox.py, logging every request's arrival) is served on
loopback in a process of its own, with its limit scaled up to ``--burst`` per
``--window`` seconds per location; the workers get the same limit (``--rate-limit``).
Each run starts its workers, waits for them to be ready, then queues one campaign per
location (``--locations``, ``--recipients`` each) and lets them send for at most
``--seconds``. Printed per worker count:

- aggregate requests/s (every GHL request, first arrival to last) and sends;
- achieved/allowed for the worst location (its n - 1 requests from its first to its last
  over ``burst / window``); the pacer keeps a 2% margin, so ~0.98 is the ceiling;
- 429s the sandbox answered;
- CPU seconds used by the workers, the sandbox and PostgreSQL (``/proc/<pid>/stat``).

Then one worker pumps ``--memory-locations`` locations at once (``--concurrency`` equal
to that) and its peak resident memory (``VmHWM``) is printed.

On two cores the sandbox, PostgreSQL and the workers share the machine, so the allowed
total (40 x 100/s = 4000 requests/s by default) does not fit: the aggregate figure is the
machine's, and the CPU split says which process class bounds it.

    python bench/scale_out.py
    python bench/scale_out.py --workers 1,2 --seconds 15 --burst 100 --window 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from _scratch import add_url_argument, database_url

from ghl_sms._clock import SystemClock
from ghl_sms.ghl import GhlClient, RequestPacer
from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, CsvSource
from ghl_sms.ops.jobs.dispatcher import ProcrastinateDispatcher
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.storage.postgres import PgConnection

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "tests" / "scale" / "scale_sandbox.py"
GHL_SMS = str(Path(sys.executable).parent / "ghl-sms")
TICKS = os.sysconf("SC_CLK_TCK")


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _postgres_cpu() -> dict[int, float]:
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found[int(entry.name)] = _cpu(int(entry.name))
            except OSError:
                continue
    return found


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        locations = max(args.locations, args.memory_locations)
        self.sandbox = subprocess.Popen(
            [sys.executable, str(SANDBOX), str(tmp / "sandbox.db"), "--locations",
             str(locations), "--contacts", str(args.recipients), "--burst", str(args.burst),
             "--window", str(args.window)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.sandbox.stdout is not None
        self.info: dict[str, Any] = json.loads(self.sandbox.stdout.readline())
        self.url: str = self.info["url"]
        self.order = list(self.info["locations"])
        config = tmp / "config.toml"
        profiles = [f'[locations.l{i}]\nlocation_id = "{loc}"\ntoken = "{token}"\n'
                    for i, (loc, token) in enumerate(self.info["locations"].items())]  # fmt: skip
        config.write_text('default = "l0"\n' + "\n".join(profiles))
        config.chmod(0o600)
        self.csvs: dict[str, Path] = {}
        for location_id, phones in self.info["phones"].items():
            path = tmp / f"{location_id}.csv"
            rows = ["phone,first_name", *(f"{p},Pat{i}" for i, p in enumerate(phones))]
            path.write_text("\n".join(rows) + "\n")
            self.csvs[location_id] = path
        self.env = {**os.environ, "GHL_BASE_URL": self.url, "GHL_SMS_CONFIG": str(config),
                    "GHL_SMS_DATA_DIR": str(tmp / "data")}  # fmt: skip
        for name in ("GHL_TOKEN", "GHL_LOCATION_ID", "GHL_SMS_LEDGER"):
            self.env.pop(name, None)

    def close(self) -> None:
        self.sandbox.terminate()
        self.sandbox.communicate(timeout=10)

    def log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/_scale/log", timeout=30) as response:
            found: list[dict[str, Any]] = json.loads(response.read())
            return found

    def settle(self) -> None:
        """Wait out the sandbox's window: the next run's workers start on a fresh
        database, with budgets that know nothing of the last run's requests, so they
        would otherwise spend their first window waiting on GHL's headers instead."""
        time.sleep(self.args.window * 1.05 + 1)

    def fresh_database(self) -> str:
        name = f"ghl_sms_scale_{uuid.uuid4().hex[:8]}"
        _admin(self.args.url, f'CREATE DATABASE "{name}"')
        url = database_url(self.args.url, name)
        env = {**self.env, "GHL_SMS_DATABASE_URL": url}
        done = subprocess.run(
            [GHL_SMS, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120
        )
        if done.returncode != 0:
            raise SystemExit(f"ghl-sms db upgrade failed: {done.stderr.strip()}")
        return url

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        _admin(self.args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def start_workers(
        self, url: str, count: int, concurrency: int, window: float | None = None
    ) -> list[subprocess.Popen[bytes]]:
        workers = []
        logs = []
        for n in range(count):
            log = self.tmp / f"worker-{uuid.uuid4().hex[:6]}-{n}.log"
            logs.append(log)
            with open(log, "wb") as out:
                workers.append(subprocess.Popen(
                    [GHL_SMS, "worker", "--concurrency", str(concurrency), "--rate-limit",
                     f"{self.args.burst}/{window or self.args.window}"],
                    env={**self.env, "GHL_SMS_DATABASE_URL": url}, stdout=out, stderr=out,
                ))  # fmt: skip
        end = time.monotonic() + 60
        while not all('"ready"' in log.read_text() for log in logs):
            for worker, log in zip(workers, logs, strict=True):
                if worker.poll() is not None:
                    raise SystemExit(f"a worker exited: {log.read_text()[-2000:]}")
            if time.monotonic() > end:
                raise SystemExit("the workers did not get ready within 60 s")
            time.sleep(0.2)
        return workers

    def enqueue(self, url: str, locations: list[str]) -> None:
        async def queue() -> None:
            clock = SystemClock()
            ledger = Ledger.open(url, clock)
            tokens = self.info["locations"]

            @asynccontextmanager
            async def connect(wanted: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
                client = GhlClient(token=tokens[wanted], location_id=wanted,
                                   base_url=self.url, clock=clock, pacer=pacer)  # fmt: skip
                async with client:
                    yield client

            engine = BulkEngine.sqlite(ledger, connect=connect, clock=clock)
            assert isinstance(ledger.conn, PgConnection)
            engine.jobs = ProcrastinateDispatcher(ledger.conn)
            for location_id in locations:
                spec = CampaignSpec(location_id=location_id, template="Hi {first_name}",
                                    transactional=True)  # fmt: skip
                campaign = await engine.create(spec, CsvSource(self.csvs[location_id]))
                engine.start(campaign.id)
            ledger.close()

        anyio.run(queue)

    def run(self, count: int) -> None:
        locations = self.order[: self.args.locations]
        url = self.fresh_database()
        workers = self.start_workers(url, count, math.ceil(len(locations) / count))
        try:
            pg_before = _postgres_cpu()
            sandbox_before = _cpu(self.sandbox.pid)
            since = time.time()
            self.enqueue(url, locations)
            deadline = time.monotonic() + self.args.seconds
            while time.monotonic() < deadline and not _completed(url, len(locations)):
                time.sleep(0.5)
            worker_cpu = sum(_cpu(w.pid) for w in workers)
            sandbox_cpu = _cpu(self.sandbox.pid) - sandbox_before
            pg_after = _postgres_cpu()
            pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(5)
            self.drop(url)
        wanted = set(locations)
        entries = [e for e in self.log() if e["at"] >= since and e["location"] in wanted]
        by_location: dict[str, list[float]] = defaultdict(list)
        for entry in entries:
            by_location[entry["location"]].append(entry["at"])
        times = sorted(e["at"] for e in entries)
        span = times[-1] - times[0] if len(times) > 1 else float("nan")
        allowed = self.args.burst / self.args.window
        ratios = sorted((len(t) - 1) / (max(t) - min(t)) / allowed
                        for t in by_location.values() if len(t) > 10)  # fmt: skip
        sends = sum(1 for e in entries if e["method"] == "POST" and e["status"] == 200)
        too_many = sum(1 for e in entries if e["status"] == 429)
        print(
            f"{count} worker(s): {len(entries) / span:7.1f} requests/s over {span:5.1f} s "
            f"({len(entries)} requests, {sends} sends, allowed {allowed * len(locations):.0f}/s); "
            f"achieved/allowed worst location {ratios[0]:.3f}, "
            f"median {ratios[len(ratios) // 2]:.3f}; "
            f"429s: {too_many}; "
            f"CPU s: workers {worker_cpu:.1f}, sandbox {sandbox_cpu:.1f}, "
            f"PostgreSQL {pg_cpu:.1f}",
            flush=True,
        )

    def memory(self) -> None:
        locations = self.order[: self.args.memory_locations]
        url = self.fresh_database()
        # Slower than the throughput runs, so that one process on two cores keeps every
        # pump busy at once: memory is what is measured here.
        [worker] = self.start_workers(url, 1, len(locations), self.args.memory_window)
        try:
            self.enqueue(url, locations)
            busy = 0
            end = time.monotonic() + self.args.memory_seconds
            while time.monotonic() < end:
                busy = max(busy, _busy_pumps(url))
                time.sleep(0.5)
            peak = _peak_memory_mb(worker.pid)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
            self.drop(url)
        print(
            f"peak memory (VmHWM) of one worker pumping {len(locations)} locations "
            f"(up to {busy} pumps holding a lease at once): {peak:.0f} MB (target < 250 MB)"
        )


def _completed(url: str, count: int) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        states = [r[0] for r in conn.execute("SELECT state FROM bulk_campaigns")]
    return len(states) == count and set(states) == {"completed"}


def _busy_pumps(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM bulk_leases WHERE expires_at > extract(epoch FROM now())"
        ).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_url_argument(parser)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--locations", type=int, default=40)
    parser.add_argument("--recipients", type=int, default=150)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--memory-locations", type=int, default=100)
    parser.add_argument("--memory-seconds", type=float, default=20.0)
    parser.add_argument("--memory-window", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ghl-sms-scale-") as folder:
        bench = Bench(args, Path(folder))
        try:
            print(f"{args.locations} locations x {args.recipients} recipients, "
                  f"{args.burst} requests per {args.window:g} s per location, "
                  f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
            counts = [int(n) for n in args.workers.split(",") if n.strip()]
            for n, count in enumerate(counts):
                if n:
                    bench.settle()
                bench.run(count)
            if args.memory_locations:
                bench.memory()
        finally:
            bench.close()


if __name__ == "__main__":
    main()
