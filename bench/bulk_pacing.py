"""Bulk campaigns against the sandbox over loopback: achieved rate vs allowed, and 429s.

Starts the sandbox under uvicorn in a subprocess on 127.0.0.1 with its rate limit scaled
up (``--burst`` requests per ``--window`` seconds per location instead of 100 per 10 s),
creates ``--locations`` locations with a campaign of ``--recipients`` contacts each, runs
them all at once with the bulk engine (one pump per location, SQLite ledger, store and
budget, the real clock), and prints for each scenario:

- achieved / allowed: each location's request rate (n - 1 requests from its first to
  its last) over the allowed rate ``burst / window``; the pacer's 2% safety margin on
  the window caps it near 98%;
- the number of 429s the sandbox answered.

    python bench/bulk_pacing.py              # 1:100/1, 10:100/5, then oauth:20:100/10
    python bench/bulk_pacing.py --scenario 10:100/1 --seconds 10
    python bench/bulk_pacing.py --scenario oauth:20:100/10

A scenario is [oauth:]LOCATIONS:BURST/WINDOW. One client process drives every location, and
on two cores (the sandbox has the other) it saturates its core near 250 requests per
second, mostly in httpx2; ten locations at 100/s each would measure that, not the
pacing. The default runs ten at 100 per 5 s (20/s each, 200/s in all).

``oauth:`` makes the locations sub-accounts of the sandbox's agency with its app
installed, texted through OAuth location tokens instead of one PIT each: the bench logs
in as the agency (authorization code), and each location's client asks one shared
``TokenManager`` for its token before every request (``GhlClient(token_provider=...)``),
as ``ghl-sms --location ID`` does. The sandbox counts one bucket per app per location.
The default runs twenty at 100 per 10 s (GHL's own burst limit, 200/s in all); the
line also says how many location tokens were minted and agency refreshes made.

Bounded: each scenario sizes its campaigns for about ``--seconds`` at the allowed rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2


def area_codes(count: int) -> list[int]:
    """An area code per location for its recipients' numbers: 201, 202... skipping the
    ones the phone rules refuse (211 and other unassigned codes), which would block a
    whole location's campaign past the tenth."""
    from ghl_sms.rules.phones import PhoneNumberError, parse_phone

    found = []
    for area in range(201, 1000):
        try:
            parse_phone(f"+1{area}5551000", "US")
        except PhoneNumberError:
            continue
        found.append(area)
        if len(found) == count:
            return found
    raise SystemExit(f"at most {len(found)} locations")


def serve(args: argparse.Namespace) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(
        db_path=args.db, burst_limit=args.burst, burst_window=args.window, daily_limit=10**9
    )
    areas = area_codes(args.locations)
    locations: dict[str, dict[str, Any]] = {}
    for n in range(args.locations):
        token: str | None = None  # an agency's sub-account has none: OAuth mints them
        if args.oauth:
            location_id = sandbox.create_location(
                name=f"Bench {n}",
                timezone="America/New_York",
                numbers=[f"+1415555{9000 + n:04d}"],
                agency=True,
            )
        elif n == 0:
            location_id, token = sandbox.location_id, sandbox.token
        else:
            location_id = sandbox.create_location(
                name=f"Bench {n}", timezone="America/New_York", numbers=[f"+1415555{9000 + n:04d}"]
            )
            token = sandbox.create_token(location_id)
        contacts = []
        for i in range(args.recipients):
            phone = f"+1{areas[n]}555{1000 + i:04d}"
            contact = sandbox.create_contact(
                {"firstName": f"Pat{i}", "phone": phone}, location_id=location_id
            )
            contacts.append(contact["id"])
        locations[location_id] = {"token": token, "contacts": contacts}

    def ready(url: str) -> None:
        print(json.dumps({"url": url, "locations": locations}), flush=True)

    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=args.port, on_ready=ready))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CountingTransport(httpx2.AsyncBaseTransport):
    """Records when each request left and what came back."""

    def __init__(self, log: list[tuple[float, int]]) -> None:
        self.inner = httpx2.AsyncHTTPTransport(
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=64)
        )
        self.log = log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        sent_at = time.time()
        response = await self.inner.handle_async_request(request)
        self.log.append((sent_at, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def achieved(times: list[float], burst: int, window: float) -> float:
    """A location's request rate over the span it sent in, as a fraction of the allowed
    rate ``burst / window``: (n - 1) requests between the first and the last."""
    times.sort()
    return (len(times) - 1) / (times[-1] - times[0]) / (burst / window)


async def agency_login(url: str, store_path: Path, transport: httpx2.AsyncBaseTransport) -> None:
    """What `ghl-sms login` does against the sandbox: approve, trade the code, store."""
    from urllib.parse import parse_qs, urlsplit

    from ghl_sms._clock import SystemClock
    from ghl_sms._settings import Secret
    from ghl_sms.accounts import OAuthApp, TokenStore, complete_login
    from ghl_sms.ghl import OAuthClient
    from ghl_sms.sandbox import OAUTH_APP

    redirect = "http://127.0.0.1:9/callback"
    async with httpx2.AsyncClient(base_url=url) as web:
        page = await web.get(
            "/oauth/chooselocation",
            params={
                "response_type": "code",
                "client_id": OAUTH_APP.client_id,
                "redirect_uri": redirect,
                "scope": " ".join(OAUTH_APP.scopes),
                "approve": "1",
            },
        )
    code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
    app = OAuthApp(
        client_id=OAUTH_APP.client_id, client_secret=Secret(OAUTH_APP.client_secret), base_url=url
    )
    async with OAuthClient(
        client_id=app.client_id,
        client_secret=OAUTH_APP.client_secret,
        base_url=url,
        transport=transport,
    ) as oauth:
        await complete_login(
            TokenStore(store_path),
            app,
            oauth,
            code=code,
            redirect_uri=redirect,
            clock=SystemClock(),
        )


async def scenario(url: str, locations: dict[str, Any], args: argparse.Namespace) -> None:
    from ghl_sms._clock import SystemClock
    from ghl_sms.accounts import TokenManager, TokenStore
    from ghl_sms.ghl import GhlClient, RateLimits, RequestPacer, RetryPolicy
    from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, ContactIdsSource, EngineConfig
    from ghl_sms.ops.ledger import Ledger

    clock = SystemClock()
    logs: dict[str, list[tuple[float, int]]] = defaultdict(list)
    agency_log: list[tuple[float, int]] = []  # the OAuth endpoints (the agency's bucket)
    tokens: TokenManager | None = None

    @asynccontextmanager
    async def connect(location_id: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        token = locations[location_id]["token"]
        client = GhlClient(
            token=token,
            token_provider=tokens.provider(location_id) if tokens is not None else None,
            location_id=location_id,
            base_url=url,
            transport=CountingTransport(logs[location_id]),
            clock=clock,
            pacer=pacer,
            rng=random.Random(0),
            retry=RetryPolicy(),
        )
        async with client:
            yield client

    limits = RateLimits(burst=args.burst, window=args.window, margin=args.margin)
    with tempfile.TemporaryDirectory() as tmp:
        if args.oauth:
            oauth_transport = CountingTransport(agency_log)
            await agency_login(url, Path(tmp) / "oauth.json", oauth_transport)
            tokens = TokenManager(
                TokenStore(Path(tmp) / "oauth.json"), clock=clock, transport=oauth_transport
            )
        ledger = Ledger.open(Path(tmp) / "ledger.db", clock)
        engine = BulkEngine.sqlite(
            ledger,
            connect=connect,
            clock=clock,
            config=EngineConfig(workers=args.workers, rate_limits=limits),
        )
        campaigns = []
        for location_id, info in locations.items():
            spec = CampaignSpec(
                location_id=location_id, template="Hi {first_name|there}", transactional=True
            )
            campaign = await engine.create(spec, ContactIdsSource(info["contacts"]))
            engine.start(campaign.id)
            campaigns.append(campaign.id)
        started = time.perf_counter()
        cpu = time.process_time()
        await engine.run(campaigns)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        sent = sum(engine.status(c).counts["sent"] for c in campaigns)
        ledger.close()
        if tokens is not None:
            await tokens.aclose()
            await oauth_transport.aclose()

    ratios = []
    total_429 = 0
    for location_id in locations:
        times = [t for t, _ in logs[location_id]]
        total_429 += sum(1 for _, status in logs[location_id] if status == 429)
        ratios.append(achieved(times, args.burst, args.window))
    requests = sum(len(v) for v in logs.values())
    allowed = args.burst / args.window
    oauth_note = ""
    if args.oauth:
        stats = httpx2.get(f"{url}/_sandbox/agency").json()["oauthStats"]
        oauth_429 = sum(1 for _, status in agency_log if status == 429)
        total_429 += oauth_429
        oauth_note = (
            f" [OAuth: {stats['locationTokens']} location tokens minted, "
            f"{stats['refreshes']} agency refreshes, {oauth_429} 429s on OAuth routes]"
        )
    what = "sub-accounts of one agency (OAuth location tokens)" if args.oauth else "location(s)"
    print(
        f"{len(locations)} {what} at {args.burst} requests / {args.window:g} s each: "
        f"achieved/allowed {min(ratios):.1%} (worst location), {sum(ratios) / len(ratios):.1%} "
        f"(mean); {requests / elapsed:,.0f} req/s in all vs {allowed * len(locations):,.0f} "
        f"allowed; 429s: {total_429}; {sent} messages in {elapsed:.1f} s "
        f"(client CPU {cpu / elapsed:.0%} of one core){oauth_note}"
    )


def run_scenario(args: argparse.Namespace, scenario_text: str) -> None:
    args.oauth = scenario_text.startswith("oauth:")
    count, _, limit = scenario_text.removeprefix("oauth:").partition(":")
    burst, _, window = limit.partition("/")
    locations = int(count)
    args.burst, args.window = int(burst), float(window)
    per_location = math.ceil(args.seconds * args.burst / args.window / 2)  # 2 requests each
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            sys.executable, __file__, "--serve", "--port", str(free_port()),
            "--db", os.path.join(tmp, "sandbox.db"), "--locations", str(locations),
            "--recipients", str(per_location), "--burst", str(args.burst),
            "--window", str(args.window), *(["--oauth"] if args.oauth else []),
        ]  # fmt: skip
        server = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the sandbox did not start")
            info = json.loads(line)
            asyncio.run(scenario(info["url"], info["locations"], args))
        finally:
            server.terminate()
            server.communicate(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", action="append", help="[oauth:]LOCATIONS:BURST/WINDOW (repeatable)"
    )
    parser.add_argument("--margin", type=float, default=0.02, help="pacer's safety margin")
    parser.add_argument("--workers", type=int, default=8, help="concurrent sends per location")
    parser.add_argument("--seconds", type=float, default=20.0, help="campaign length to aim for")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--recipients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--locations", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--burst", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--window", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--oauth", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    for scenario_text in args.scenario or ["1:100/1", "10:100/5", "oauth:20:100/10"]:
        run_scenario(args, scenario_text)


if __name__ == "__main__":
    main()
