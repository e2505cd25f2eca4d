"""An in-process stack for tests: sandbox, client, ledger and service on one FakeClock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig, SmsService
from ghl_sms.sandbox import Sandbox

# Wednesday 2026-03-04 18:00 UTC: 13:00 in New York, 10:00 in San Francisco.
WEEKDAY_NOON = datetime(2026, 3, 4, 18, 0, tzinfo=UTC).timestamp()


@dataclass
class Stack:
    clock: FakeClock
    sandbox: Sandbox
    client: GhlClient
    ledger: Ledger
    service: SmsService

    def ids(self, trait: str) -> str:
        return self.sandbox.seed_ids[trait]

    def messages(self, contact_id: str, direction: str = "outbound") -> list[tuple[str, str, str]]:
        """(id, body, status) of every message the sandbox holds for a contact: what GHL
        really has, whatever our client or ledger believe."""
        rows = self.sandbox.store.conn.execute(
            "SELECT id, body, status FROM messages WHERE contact_id = ? AND direction = ? "
            "ORDER BY seq",
            (contact_id, direction),
        ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def service_factory(self) -> Callable[[], AbstractAsyncContextManager[SmsService]]:
        """A factory handing out this stack's service (e.g. for the MCP server's lifespan);
        the stack itself stays open until its own ``async with`` ends."""

        @asynccontextmanager
        async def open_service() -> AsyncIterator[SmsService]:
            yield self.service

        return open_service


@asynccontextmanager
async def stack(
    *,
    ledger_path: Path | str = ":memory:",
    clock: FakeClock | None = None,
    sandbox: Sandbox | None = None,
    config: ServiceConfig | None = None,
    token: str | None = None,
) -> AsyncIterator[Stack]:
    """``token``: another token than the demo location's (e.g. one missing scopes)."""
    clock = clock or FakeClock(WEEKDAY_NOON)
    sandbox = sandbox or Sandbox(clock=clock)
    client = GhlClient(
        token=token or sandbox.token,
        location_id=sandbox.location_id,
        base_url=sandbox.base_url,
        transport=sandbox.transport(),
        clock=clock,
        rng=random.Random(0),
        retry=RetryPolicy(max_retries=2),
    )
    ledger = Ledger.open(ledger_path, clock)
    service = SmsService(client, ledger, clock=clock, config=config)
    try:
        yield Stack(clock, sandbox, client, ledger, service)
    finally:
        await client.aclose()
        ledger.close()
