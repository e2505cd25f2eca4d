"""Database round trips per send on PostgreSQL: a worker's pump, and an interactive send.

Needs a PostgreSQL server (``--url``, default ``$GHL_SMS_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``): a scratch database is created there,
migrated (the ledger's schema and procrastinate's, as ``ghl-sms db upgrade``) and
dropped at the end. GHL is the in-process sandbox, limited like GHL (``--burst`` per
``--window`` seconds; the pacing sets how often a pump renews its lease).

Counted two ways on every ``PgConnection`` (the ledger's, which the budget, leases and
campaign stores share): in Python, each statement, BEGIN/SAVEPOINT and COMMIT/RELEASE,
sorted by its SQL text (a transaction's BEGIN, advisory lock and COMMIT go to the kind
of its first statement); and on the wire, libpq's protocol trace (``PQtrace``): a round
trip is a flight of client messages followed by the server's answer. The two totals
are printed side by side. Connecting (TCP, startup, auth) is not counted. procrastinate's
own queries (fetch/finish a job, defer the successor, heartbeats, polling) go through its
pool and are not counted: they are per slice and per second, not per send.

- worker: a campaign of ``--recipients`` through ``PumpRuntime.run_pump`` (the engine
  and settings ``ghl-sms worker`` builds), slice after slice until nothing is due;
- interactive: ``--sends`` sends through ``SmsService`` (as ``AppContext.service`` builds
  it), warm (one service, as a library or the MCP server holds it) and cold (a new
  ledger connection and service per send, as each ``ghl-sms send`` process does).

    python bench/db_round_trips.py
    python bench/db_round_trips.py --recipients 500 --sends 50
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx2
from _scratch import add_url_argument, scratch_database
from psycopg import pq

from ghl_sms._clock import SystemClock
from ghl_sms.ghl import GhlClient, RateLimits, RequestPacer
from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, CsvSource, EngineConfig
from ghl_sms.ops.jobs.app import apply_schema
from ghl_sms.ops.jobs.dispatcher import ProcrastinateDispatcher
from ghl_sms.ops.jobs.runtime import PumpRuntime, WorkerSettings
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest, ServiceConfig, SmsService
from ghl_sms.ops.storage.postgres import PgConnection
from ghl_sms.sandbox import Sandbox

KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("budget claim", re.compile(r"bulk_budget_")),
    ("lease fence check", re.compile(r"FROM bulk_leases .*FOR SHARE", re.S)),
    ("lease renew", re.compile(r"UPDATE bulk_leases SET expires_at = \?")),
    ("lease acquire/release", re.compile(r"bulk_leases")),
    ("recipient/campaign state", re.compile(r"bulk_(recipients|claims|campaigns)")),
    ("ledger", re.compile(r"\b(sends|message_status_events)\b")),
    ("opt-outs", re.compile(r"\b(opt_outs|opt_out_audit|contact_dnd_events)\b")),
]
_LOCKS = "pg_advisory_xact_lock(hashtextextended(k, 0))"


def kind_of(sql: str) -> str:
    return next((name for name, pattern in KINDS if pattern.search(sql)), "other")


class Recorder:
    """Round trips on every PgConnection: classified in Python, and traced on the wire."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.kinds: Counter[str] = Counter()
        self.total = 0
        self.by_task: Counter[int] = Counter()  # the anyio task each round trip ran in
        self._frames: list[list[Any]] = []  # [kind | None, round trips not yet attributed]
        self._live: list[PgConnection] = []
        self._files: list[Path] = []

    def _tick(self) -> None:
        self.total += 1
        try:
            self.by_task[anyio.get_current_task().id] += 1
        except RuntimeError:  # no event loop
            pass

    def _count(self, sql: str) -> None:
        self._tick()
        if _LOCKS in sql and self._frames:
            self._frames[-1][1] += 1
            return
        kind = kind_of(sql)
        self.kinds[kind] += 1
        for frame in self._frames:
            if frame[0] is None:
                frame[0] = kind
                self.kinds[kind] += frame[1]
                frame[1] = 0

    def install(self) -> None:
        recorder = self
        init, execute, many = PgConnection.__init__, PgConnection.execute, PgConnection.executemany
        transaction, close = PgConnection.transaction, PgConnection.close

        def _init(conn: PgConnection, raw: Any, url: str) -> None:
            init(conn, raw, url)
            recorder._live.append(conn)
            recorder._start(conn)

        def _execute(conn: PgConnection, sql: str, parameters: Any = (), /) -> Any:
            recorder._count(sql)
            return execute(conn, sql, parameters)

        def _executemany(conn: PgConnection, sql: str, parameters: Any, /) -> Any:
            recorder._count(sql)
            return many(conn, sql, parameters)

        @contextmanager
        def _transaction(conn: PgConnection, locks: Any = ()) -> Iterator[PgConnection]:
            recorder._tick()
            recorder._frames.append([None, 1])
            try:
                with transaction(conn, locks) as inner:
                    yield inner
            finally:
                kind, pending = recorder._frames.pop()
                recorder._tick()
                recorder.kinds[kind or "other"] += pending + 1

        def _close(conn: PgConnection) -> None:
            if conn in recorder._live:
                recorder._stop(conn)
                recorder._live.remove(conn)
            close(conn)

        PgConnection.__init__ = _init  # type: ignore[assignment,method-assign]
        PgConnection.execute = _execute  # type: ignore[method-assign]
        PgConnection.executemany = _executemany  # type: ignore[method-assign]
        PgConnection.transaction = _transaction  # type: ignore[assignment,method-assign]
        PgConnection.close = _close  # type: ignore[assignment,method-assign]

    def _start(self, conn: PgConnection) -> None:
        path = self.folder / f"trace-{len(self._files)}.txt"
        self._files.append(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        conn.__dict__["_trace_fd"] = fd
        conn.raw.pgconn.trace(fd)
        conn.raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def _stop(self, conn: PgConnection) -> None:
        conn.raw.pgconn.untrace()  # flushes libpq's buffer
        os.close(conn.__dict__.pop("_trace_fd"))

    def reset(self) -> None:
        """Start counting afresh (the traces so far are dropped)."""
        for conn in self._live:
            self._stop(conn)
        for path in self._files:
            path.unlink(missing_ok=True)
        self._files.clear()
        for conn in self._live:
            self._start(conn)
        self.kinds.clear()
        self.by_task.clear()
        self.total = 0

    def wire(self) -> int:
        """Round trips on the wire so far: flights of client messages answered by the server."""
        for conn in self._live:  # flush, and go on tracing into a new file
            self._stop(conn)
            self._start(conn)
        flights = 0
        for path in self._files:
            last = ""
            for line in path.read_text(errors="replace").splitlines():
                side = line.split("\t", 1)[0]  # F, B, or a multi-line query's next line
                if side == "B" and last == "F":
                    flights += 1
                last = side if side in ("F", "B") else last
        return flights


class Marking(httpx2.AsyncBaseTransport):
    """The sandbox's transport: at each message sent, the round trips its task made since
    its previous one (a pump worker's send: the tail of one, the head of the next)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, rec: Recorder) -> None:
        self.inner, self.rec, self.last, self.sends = inner, rec, dict[int, int](), list[int]()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/conversations/messages"):
            task, now = anyio.get_current_task().id, self.rec.by_task[anyio.get_current_task().id]
            if task in self.last:
                self.sends.append(now - self.last[task])
            self.last[task] = now
        return await self.inner.handle_async_request(request)


def report(title: str, rec: Recorder, sends: int, per_send: list[int], seconds: float) -> None:
    wire = rec.wire()
    print(f"\n{title}: {sends} sends in {seconds:.1f} s")
    print(f"  round trips per send: median {statistics.median(per_send):.0f}, "
          f"total/N {rec.total / sends:.2f} (in Python: {rec.total}; "
          f"on the wire, libpq trace: {wire})")  # fmt: skip
    for kind, n in sorted(rec.kinds.items(), key=lambda item: -item[1]):
        print(f"    {kind:<26} {n / sends:6.2f} per send  ({n})")


def _client(sandbox: Sandbox, transport: httpx2.AsyncBaseTransport, **kw: Any) -> GhlClient:
    return GhlClient(token=sandbox.token, location_id=sandbox.location_id,
                     base_url=sandbox.base_url, transport=transport, **kw)  # fmt: skip


async def worker_path(url: str, rec: Recorder, args: argparse.Namespace, tmp: Path) -> None:
    clock = SystemClock()
    sandbox = Sandbox(clock=clock, burst_limit=args.burst, burst_window=args.window)
    transport = Marking(sandbox.transport(), rec)
    rows = ["contact_id,first_name"]
    for i in range(args.recipients):
        contact = sandbox.create_contact(
            {"firstName": f"Pat{i}", "phone": f"+1415555{2000 + i:04d}"}
        )
        rows.append(f"{contact['id']},Pat{i}")
    (tmp / "recipients.csv").write_text("\n".join(rows) + "\n")
    ledger = Ledger.open(url, clock)

    @asynccontextmanager
    async def connect_ghl(wanted: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        async with _client(sandbox, transport, clock=clock, pacer=pacer) as client:
            yield client

    # As cli/_bulk_wiring.open_engine and cli/_worker._serve build it.
    config = EngineConfig(workers=args.pump_workers)
    engine = BulkEngine.sqlite(ledger, connect=connect_ghl, clock=clock, config=config,
                               service_config=ServiceConfig())  # fmt: skip
    assert isinstance(ledger.conn, PgConnection)
    engine.jobs = ProcrastinateDispatcher(ledger.conn)
    settings = WorkerSettings()
    limits = RateLimits(burst=args.burst, window=args.window)
    engine.config = replace(config, rate_limits=limits, lease_ttl=settings.stall_timeout,
                            idle_poll=min(config.idle_poll, 1.0))  # fmt: skip
    runtime = PumpRuntime(engine, ledger.conn, clock, settings)
    spec = CampaignSpec(location_id=sandbox.location_id, template="Hi {first_name}",
                        transactional=True)  # fmt: skip
    campaign = await engine.create(spec, CsvSource(tmp / "recipients.csv"))
    engine.start(campaign.id)
    rec.reset()
    start, slices = time.perf_counter(), 1
    while await runtime.run_pump(sandbox.location_id):
        slices += 1
    seconds = time.perf_counter() - start
    sent = engine.progress(campaign.id).sent
    report(f"worker: a campaign of {args.recipients} ({sent} sent) through PumpRuntime.run_pump, "
           f"{slices} slice(s), {args.pump_workers} sends in flight, {args.burst}/"
           f"{args.window:g}s pacing, lease recheck {settings.recheck:g} s", rec, sent,
           transport.sends or [0], seconds)  # fmt: skip
    print(
        "  (median: a pump worker's round trips from one message it sends to its next;"
        " total/N: every round trip, the pump's own included)"
    )
    ledger.close()
    sandbox.close()


async def interactive(url: str, rec: Recorder, count: int, *, cold: bool) -> None:
    clock = SystemClock()
    sandbox = Sandbox(clock=clock, burst_limit=100_000)
    contact = sandbox.seed_ids["reachable"]

    @asynccontextmanager
    async def service() -> AsyncIterator[SmsService]:  # as AppContext.service builds it
        async with _client(sandbox, sandbox.transport(), clock=clock) as client:
            ledger = Ledger.open(url, clock)
            try:
                yield SmsService(client, ledger, clock=clock, config=ServiceConfig())
            finally:
                ledger.close()

    per_send: list[int] = []
    async with service() as warm:
        await warm.send(SendRequest(contact_id=contact, text="warm-up", transactional=True))
        rec.reset()
        start = time.perf_counter()
        for n in range(count):
            before = rec.total
            if cold:
                async with service() as fresh:
                    await fresh.send(
                        SendRequest(contact_id=contact, text=f"Cold {n}", transactional=True)
                    )
            else:
                await warm.send(
                    SendRequest(contact_id=contact, text=f"Warm {n}", transactional=True)
                )
            per_send.append(rec.total - before)
        seconds = time.perf_counter() - start
        title = ("interactive, cold (a new ledger connection and SmsService per send, as each "
                 "`ghl-sms send` process)" if cold else "interactive, warm (one SmsService, "
                 "as a library or the MCP server holds it)")  # fmt: skip
        report(title, rec, count, per_send, seconds)
    sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_url_argument(parser)
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--sends", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100, help="GHL's limit per location")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--pump-workers", type=int, default=8, help="ghl-sms worker --workers")
    args = parser.parse_args()
    with scratch_database(args.url) as scratch:
        anyio.run(apply_schema, scratch)
        with tempfile.TemporaryDirectory() as folder:
            rec = Recorder(Path(folder))
            rec.install()
            print("Round trips: each PgConnection statement, BEGIN and COMMIT (in Python), "
                  "checked against libpq's protocol trace; procrastinate's own pool is "
                  "not counted.")  # fmt: skip
            anyio.run(worker_path, scratch, rec, args, Path(folder))
            anyio.run(lambda: interactive(scratch, rec, args.sends, cold=False))
            anyio.run(lambda: interactive(scratch, rec, args.sends, cold=True))


if __name__ == "__main__":
    main()
