"""What a budget claim costs on PostgreSQL, and how many database round trips a send makes.

Needs a PostgreSQL server (``--url``, default ``$GHL_SMS_BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``): a scratch database is created there,
migrated, and dropped at the end. Prints:

- claim cost: ``PostgresBudget.reserve`` (the key's advisory lock, the database clock,
  the key's recent claims and day, the decision, the claim and the day written) on one
  key with one consumer, as a location's pump makes them: median and 90th percentile
  in ms, and statements per claim;
- per send: an interactive send (``SmsService.send``) against the in-process sandbox
  with the ledger on PostgreSQL: its GHL requests (each claims the budget first), the
  database round trips (statements, BEGIN and COMMIT included) and wall time.

    python bench/budget_claim.py
    python bench/budget_claim.py --claims 5000 --sends 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
from _scratch import add_url_argument, scratch_database

from ghl_sms._clock import SystemClock
from ghl_sms.ghl import GhlClient, RateLimits
from ghl_sms.ops.bulk.budget import Limit, Rule
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest, SmsService
from ghl_sms.ops.storage import shared_budget
from ghl_sms.ops.storage.postgres import PgConnection, PostgresBudget, connect
from ghl_sms.sandbox import Sandbox


def claims(url: str, count: int) -> None:
    clock = SystemClock()
    conn = connect(url)
    budget = shared_budget(conn, clock)
    assert isinstance(budget, PostgresBudget)
    # No claim waits (the cost measured is the claim's, not the pacing), and the key
    # holds about a window's worth of recent claims (~100), as a busy pump's does.
    limit = Limit(rules=(Rule(1_000_000, 0.5),), per_day=10_000_000)
    for _ in range(50):  # warm up (connection, plans)
        budget.reserve("req:bench:warm", limit, clock.now())
    before = conn.round_trips
    took = []
    for _ in range(count):
        start = time.perf_counter()
        budget.reserve("req:bench:loc", limit, clock.now())
        took.append((time.perf_counter() - start) * 1000)
    trips = (conn.round_trips - before) / count
    took.sort()
    print(
        f"budget claim on PostgreSQL ({count} claims, one key, one consumer): "
        f"median {statistics.median(took):.2f} ms, p90 {took[int(len(took) * 0.9)]:.2f} ms, "
        f"{trips:.0f} round trips per claim"
    )
    conn.close()


async def sends(url: str, count: int) -> None:
    clock = SystemClock()
    sandbox = Sandbox(clock=clock, burst_limit=100_000)
    client = GhlClient(
        token=sandbox.token,
        location_id=sandbox.location_id,
        base_url=sandbox.base_url,
        transport=sandbox.transport(),
        clock=clock,
        rate_limits=RateLimits(burst=100_000),
    )
    ledger = Ledger.open(url, clock)
    conn = ledger.conn
    assert isinstance(conn, PgConnection)
    service = SmsService(client, ledger, clock=clock)
    contact = sandbox.seed_ids["reachable"]
    await service.send(SendRequest(contact_id=contact, text="warm-up", transactional=True))
    pacer = client.pacer
    requests_before = getattr(pacer, "requests", 0)
    before = conn.round_trips
    start = time.perf_counter()
    for n in range(count):
        await service.send(
            SendRequest(contact_id=contact, text=f"Bench message {n}", transactional=True)
        )
    seconds = time.perf_counter() - start
    requests = (getattr(pacer, "requests", 0) - requests_before) / count
    trips = (conn.round_trips - before) / count
    print(
        f"interactive send ({count} sends, ledger and budget on PostgreSQL): "
        f"{requests:.1f} GHL requests (each claims the budget), {trips:.1f} database round "
        f"trips, {seconds / count * 1000:.1f} ms per send (in-process sandbox)"
    )
    await client.aclose()
    ledger.close()
    sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_url_argument(parser)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--sends", type=int, default=30)
    args = parser.parse_args()
    with scratch_database(args.url) as scratch:
        claims(scratch, args.claims)
        anyio.run(sends, scratch, args.sends)


if __name__ == "__main__":
    main()
