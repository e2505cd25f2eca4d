"""How many send calls per second the client sustains, beside a bare httpx2 loop.

Both make the same request (POST /conversations/messages with the same headers and JSON
body) against an in-process transport that answers instantly, one call after another on
one core, so the difference is the client's own work: pacing, retries bookkeeping, error
mapping and parsing into typed models. Target: the client keeps >= 80% of the bare rate.

    python bench/client_overhead.py [--calls 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
import httpx2

from ghl_sms.ghl import GhlClient, RateLimits

ANSWER = b'{"conversationId":"ABC12h2F6uBrIkfXYazb","messageId":"t22c6DQcTDf3MjRhwf77","msg":"Message queued successfully."}'  # noqa: E501
BASE = "https://services.leadconnectorhq.com"


def instant(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=ANSWER, headers={"content-type": "application/json"})


async def bare_loop(calls: int) -> float:
    headers = {
        "Authorization": "Bearer pit-bench",
        "Version": "2021-04-15",
        "Accept": "application/json",
    }
    async with httpx2.AsyncClient(
        base_url=BASE, transport=httpx2.MockTransport(instant), headers=headers
    ) as http:
        started = time.perf_counter()
        for i in range(calls):
            response = await http.post(
                "/conversations/messages",
                json={"type": "SMS", "contactId": f"ct{i}", "message": "Hello there"},
            )
            response.raise_for_status()
            data = response.json()
            assert data["messageId"]
        return calls / (time.perf_counter() - started)


async def client_loop(calls: int) -> float:
    # Limits scaled far up: this measures the pacer's bookkeeping, not GHL's 10 req/s.
    limits = RateLimits(burst=10_000_000, window=10.0, daily=10**12)
    async with GhlClient(
        token="pit-bench",
        location_id="loc",
        base_url=BASE,
        transport=httpx2.MockTransport(instant),
        rate_limits=limits,
    ) as client:
        started = time.perf_counter()
        for i in range(calls):
            result = await client.send_message(contact_id=f"ct{i}", message="Hello there")
            assert result.message_id
        return calls / (time.perf_counter() - started)


async def main(calls: int, rounds: int) -> None:
    await bare_loop(500)  # warm up both paths
    await client_loop(500)
    bare, ours = [], []
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        bare.append(await bare_loop(calls))
        ours.append(await client_loop(calls))
    bare_rate, our_rate = statistics.median(bare), statistics.median(ours)
    print(f"bare httpx2 loop : {bare_rate:8.0f} calls/s (median of {rounds})")
    print(f"GhlClient.send   : {our_rate:8.0f} calls/s (median of {rounds})")
    print(f"client / bare    : {our_rate / bare_rate:8.1%}  (target >= 80%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    anyio.run(main, args.calls, args.rounds)
