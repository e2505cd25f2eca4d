"""Send-message throughput of the sandbox over loopback HTTP.

Starts the sandbox under uvicorn in a subprocess on 127.0.0.1 (a free port, rate limits
scaled out of the way, a WAL SQLite file in a temporary directory), then drives
``POST /conversations/messages`` from concurrent ``httpx2.AsyncClient``s in one or more
client processes and prints the requests per second, with the CPU each side spent.

    python bench/sandbox_throughput.py [--requests 20000] [--clients 2] [--concurrency 32]

On a 2-core machine the httpx2 client costs more CPU per request than the server, so a
single client process caps the figure; two client processes let the server use what the
machine has. Bounded: it stops after ``--requests`` sends or ``--max-seconds``.
uvloop and httptools (``uvicorn[standard]``) are used when installed, on both sides.
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
from collections.abc import Coroutine
from typing import Any

import httpx2


def serve(port: int, db: str, plain: bool) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(db_path=db, burst_limit=10**9, daily_limit=10**9)

    def ready(url: str) -> None:
        print(f"READY {url}", flush=True)

    options = {"loop": "asyncio", "http": "h11"} if plain else {}
    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=port, on_ready=ready, **options))


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


def run(coroutine: Coroutine[Any, Any, None], plain: bool) -> None:
    try:
        import uvloop
    except ImportError:
        plain = True
    if plain:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


async def drive(
    base_url: str, total: int, concurrency: int, start_at: float, stop_at: float
) -> None:
    """One client process: ``total`` sends over ``concurrency`` keep-alive connections."""
    from ghl_sms.sandbox import DEMO_TOKEN, SEED_CONTACTS

    contact_id = next(c.id for c in SEED_CONTACTS if c.trait == "reachable")
    headers = {
        "Authorization": f"Bearer {DEMO_TOKEN}",
        "Version": "2021-04-15",
        "Content-Type": "application/json",
    }
    body = json.dumps({"type": "SMS", "contactId": contact_id, "message": "Benchmark hello"})
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:
        for _ in range(50):  # open connections and warm caches before the clock starts
            (await client.post("/conversations/messages", content=body)).raise_for_status()
        await asyncio.sleep(max(start_at - time.time(), 0))
        sent = errors = 0

        async def worker() -> None:
            nonlocal sent, errors
            # Each worker builds its request once and sends it again and again: the client's
            # CPU, not the server's, is what limits a 2-core machine.
            request = client.build_request("POST", "/conversations/messages", content=body)
            while sent + errors < total and time.time() < stop_at:
                sent += 1
                response = await client.send(request)
                if response.status_code != 200:
                    sent, errors = sent - 1, errors + 1

        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        finished = time.time()
    print(json.dumps({"sent": sent, "errors": errors, "finished": finished,
                      "cpu": time.process_time() - cpu}), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="total sends")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--concurrency", type=int, default=16, help="connections per client")
    parser.add_argument(
        "--plain", action="store_true", help="asyncio and h11 only, even if uvloop/httptools exist"
    )
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--drive", nargs=4, metavar="X", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.db, args.plain)
        return
    if args.drive:
        url, total, start_at, stop_at = args.drive
        run(drive(url, int(total), args.concurrency, float(start_at), float(stop_at)), args.plain)
        return
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--db", os.path.join(tmp, "b.db")]
            + (["--plain"] if args.plain else []),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("READY "):
                raise SystemExit(f"the sandbox did not start: {line!r}")
            url = line.split()[1]
            start_at = time.time() + 2.0  # after every client has warmed up
            stop_at = start_at + args.max_seconds
            share = args.requests // args.clients
            clients = [
                subprocess.Popen(
                    [sys.executable, __file__, "--concurrency", str(args.concurrency), "--drive",
                     url, str(share), str(start_at), str(stop_at)]
                    + (["--plain"] if args.plain else []),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(args.clients)
            ]  # fmt: skip
            time.sleep(max(start_at - time.time(), 0))
            server_cpu = cpu_seconds(server.pid)
            results = []
            for client in clients:
                out, _ = client.communicate(timeout=args.max_seconds + 60)
                results.append(json.loads(out.strip().splitlines()[-1]))
            server_cpu = cpu_seconds(server.pid) - server_cpu
        finally:
            server.terminate()
            server.wait(timeout=10)
    sent = sum(r["sent"] for r in results)
    errors = sum(r["errors"] for r in results)
    elapsed = max(r["finished"] for r in results) - start_at
    client_cpu = sum(r["cpu"] for r in results)
    stack = "asyncio + h11" if args.plain else "uvloop + httptools when installed"
    print(
        f"{sent / elapsed:,.0f} send-message requests/s over loopback HTTP ({stack}) "
        f"({sent} sends in {elapsed:.2f} s; {args.clients} client processes x "
        f"{args.concurrency} connections; {errors} errors)\n"
        f"CPU per request: server {server_cpu / sent * 1e6:.0f} us "
        f"(= {sent / server_cpu if server_cpu else 0:,.0f} sends/s per core), "
        f"clients {client_cpu / sent * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
