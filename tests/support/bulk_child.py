"""A bulk campaign in a process of its own, for tests that kill it with SIGKILL.

    python tests/support/bulk_child.py LEDGER URL TOKEN LOCATION send CSV TEMPLATE \
        [SEND_WINDOW|- [NUMBER_PER_MINUTE]]
    python tests/support/bulk_child.py LEDGER URL TOKEN LOCATION resume CAMPAIGN_ID

It is what `ghl-sms bulk send`/`resume` run (the same engine, ledger file and client),
on the wall clock, with a request budget far above GHL's so that a few hundred
recipients take seconds (the served sandbox must be given at least as much), and a
short wait before looking up a lost answer. It prints the campaign id on its first
line, then the final status as one JSON line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from ghl_sms._clock import SystemClock
from ghl_sms.ghl import GhlClient, RateLimits, RequestPacer
from ghl_sms.ops.bulk import (
    BulkEngine,
    CampaignSpec,
    CampaignState,
    Caps,
    CsvSource,
    EngineConfig,
    SendWindow,
)
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig

FAST = RateLimits(burst=5000, window=1.0)


async def main(argv: list[str]) -> None:
    ledger_path, url, token, location_id, command, *rest = argv
    clock = SystemClock()
    ledger = Ledger.open(Path(ledger_path), clock)

    @asynccontextmanager
    async def connect(wanted: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        client = GhlClient(token=token, location_id=wanted, base_url=url, clock=clock, pacer=pacer)
        async with client:
            yield client

    engine = BulkEngine.sqlite(
        ledger,
        connect=connect,
        clock=clock,
        config=EngineConfig(workers=8, rate_limits=FAST, idle_poll=0.5),
        service_config=ServiceConfig(reconcile_delay=0.05),
    )
    if command == "send":
        csv_path, template, *options = rest
        window = options[0] if options and options[0] != "-" else None
        per_minute = int(options[1]) if len(options) > 1 else None
        spec = CampaignSpec(
            location_id=location_id,
            template=template,
            transactional=True,
            send_window=SendWindow.parse(window) if window else None,
            caps=Caps(number_per_minute=per_minute),
        )
        campaign = await engine.create(spec, CsvSource(Path(csv_path)))
        engine.start(campaign.id)
        campaign_id = campaign.id
    else:
        [campaign_id] = rest
        if engine.campaign(campaign_id).state == CampaignState.PAUSED:
            engine.resume(campaign_id)
    print(campaign_id, flush=True)
    await engine.run([campaign_id])
    print(json.dumps(engine.status(campaign_id).model_dump(mode="json")), flush=True)
    ledger.close()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
