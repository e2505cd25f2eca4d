"""Send-message throughput of the sandbox over loopback HTTP.

Starts ``ghl-sms``'s sandbox under uvicorn in a subprocess on 127.0.0.1 (a free port,
rate limits scaled out of the way, a WAL SQLite file in a temporary directory), then
drives ``POST /conversations/messages`` from concurrent httpx2 clients and prints the
requests per second.

    python bench/sandbox_throughput.py [--requests 20000] [--concurrency 64]

Bounded: it stops after ``--requests`` sends or ``--max-seconds``, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx2


def serve(port: int, db: str) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(db_path=os.environ.get("BENCH_DB", db), burst_limit=10**9, daily_limit=10**9)

    def ready(url: str) -> None:
        print(f"READY {url}", flush=True)

    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=port, on_ready=ready))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc); 0.0 where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def drive(
    base_url: str, total: int, concurrency: int, max_seconds: float, server_pid: int
) -> None:
    from ghl_sms.sandbox import DEMO_TOKEN, SEED_CONTACTS

    contact_id = next(c.id for c in SEED_CONTACTS if c.trait == "reachable")
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}", "Version": "2021-04-15"}
    headers["Content-Type"] = "application/json"
    body = json.dumps({"type": "SMS", "contactId": contact_id, "message": "Benchmark hello"})
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:
        for _ in range(200):  # warm up connections and caches
            (await client.post("/conversations/messages", content=body)).raise_for_status()
        sent = 0
        errors = 0
        deadline = time.perf_counter() + max_seconds

        async def worker() -> None:
            nonlocal sent, errors
            while sent + errors < total and time.perf_counter() < deadline:
                sent += 1
                response = await client.post("/conversations/messages", content=body)
                if response.status_code != 200:
                    errors += 1
                    sent -= 1

        started = time.perf_counter()
        cpu_started = time.process_time()
        server_cpu_started = cpu_seconds(server_pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
        server_cpu = cpu_seconds(server_pid) - server_cpu_started
    per = 1e6 / max(sent, 1)
    print(
        f"{sent / elapsed:,.0f} send-message requests/s "
        f"({sent} sends in {elapsed:.2f} s, {concurrency} concurrent clients, {errors} errors; "
        f"CPU per request: client {client_cpu * per:.0f} us, server {server_cpu * per:.0f} us)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db)
        return
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        db = os.path.join(tmp, "bench.db")
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--db", db],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("READY "):
                raise SystemExit(f"the sandbox did not start: {line!r}")
            url = line.split()[1]
            run = drive(url, args.requests, args.concurrency, args.max_seconds, server.pid)
            try:
                import uvloop  # comes with uvicorn[standard]; the client is the bottleneck
            except ImportError:
                asyncio.run(run)
            else:
                uvloop.run(run)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
