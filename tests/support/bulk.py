"""Bulk engine stacks for tests: the in-process sandbox, a ledger file and a FakeClock.

``BulkStack.engine()`` builds a fresh engine (a new "process": new ledger connection,
new clients) over the same ledger file and sandbox, which is how a crash and a resume
are simulated. Every request the engines make is logged (time, method, path, status).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RequestPacer, RetryPolicy
from ghl_sms.ops.bulk import BulkEngine, EngineConfig
from ghl_sms.ops.ledger import Ledger
from ghl_sms.sandbox import Sandbox
from support.stack import WEEKDAY_NOON

Hook = Callable[[httpx2.Request], Awaitable[None]]


@dataclass
class Request:
    at: float
    location_id: str
    method: str
    path: str
    status: int | None


class LoggingTransport(httpx2.AsyncBaseTransport):
    """Logs every request; ``before``/``after`` hooks may crash the "process"."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, stack: BulkStack, location: str) -> None:
        self.inner = inner
        self.stack = stack
        self.location = location

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        stack = self.stack
        entry = Request(stack.clock.now(), self.location, request.method, request.url.path, None)
        stack.requests.append(entry)
        if stack.before is not None:
            await stack.before(request)
        response = await self.inner.handle_async_request(request)
        entry.status = response.status_code
        if stack.after is not None:
            await stack.after(request)
        return response


@dataclass
class BulkStack:
    tmp: Path
    clock: FakeClock
    sandbox: Sandbox
    tokens: dict[str, str]
    requests: list[Request] = field(default_factory=list)
    before: Hook | None = None
    after: Hook | None = None
    ledgers: list[Ledger] = field(default_factory=list)

    @property
    def ledger_path(self) -> Path:
        return self.tmp / "ledger.db"

    @property
    def location_id(self) -> str:
        return self.sandbox.location_id

    def ids(self, trait: str) -> str:
        return self.sandbox.seed_ids[trait]

    def engine(self, **config: Any) -> BulkEngine:
        """A new engine over the same ledger file: a fresh process, as after a crash."""
        ledger = Ledger.open(self.ledger_path, self.clock)
        self.ledgers.append(ledger)

        @asynccontextmanager
        async def connect(location_id: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
            client = GhlClient(
                token=self.tokens[location_id],
                location_id=location_id,
                base_url=self.sandbox.base_url,
                transport=LoggingTransport(self.sandbox.transport(), self, location_id),
                clock=self.clock,
                pacer=pacer,
                rng=random.Random(0),
                retry=RetryPolicy(max_retries=2),
            )
            async with client:
                yield client

        defaults: dict[str, Any] = {"workers": 4, "idle_poll": 600.0}
        return BulkEngine.sqlite(
            ledger, connect=connect, clock=self.clock, config=EngineConfig(**{**defaults, **config})
        )

    def add_location(self, name: str, numbers: list[str]) -> str:
        location_id = self.sandbox.create_location(name=name, numbers=numbers)
        self.tokens[location_id] = self.sandbox.create_token(location_id)
        return location_id

    def add_contacts(
        self, count: int, *, location_id: str | None = None, start: int = 2000, **fields: Any
    ) -> list[str]:
        """``count`` reachable contacts (+1415555XXXX numbers that are delivered)."""
        ids = []
        for i in range(count):
            contact = self.sandbox.create_contact(
                {"firstName": f"Pat{i}", "phone": f"+1415555{start + i:04d}", **fields},
                location_id=location_id,
            )
            ids.append(str(contact["id"]))
        return ids

    def outbound(self, location_id: str | None = None) -> Counter[str]:
        """Outbound messages GHL really holds, per contact id."""
        sql = "SELECT contact_id FROM messages WHERE direction = 'outbound'"
        params: tuple[str, ...] = ()
        if location_id is not None:
            sql += " AND location_id = ?"
            params = (location_id,)
        return Counter(str(r[0]) for r in self.sandbox.store.conn.execute(sql, params))

    def outbound_ids(self, contact_id: str) -> list[str]:
        rows = self.sandbox.store.conn.execute(
            "SELECT id FROM messages WHERE contact_id = ? AND direction = 'outbound' ORDER BY seq",
            (contact_id,),
        )
        return [str(r[0]) for r in rows]

    def bodies(self, contact_id: str) -> list[str]:
        rows = self.sandbox.store.conn.execute(
            "SELECT body FROM messages WHERE contact_id = ? AND direction = 'outbound' "
            "ORDER BY seq",
            (contact_id,),
        )
        return [str(r[0]) for r in rows]

    def sends(self, location_id: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.method == "POST"
            and r.path == "/conversations/messages"
            and (location_id is None or r.location_id == location_id)
        ]

    def close(self) -> None:
        for ledger in self.ledgers:
            ledger.close()
        self.sandbox.close()


@asynccontextmanager
async def bulk_stack(
    tmp: Path, *, clock: FakeClock | None = None, **sandbox: Any
) -> AsyncIterator[BulkStack]:
    clock = clock or FakeClock(WEEKDAY_NOON)
    sb = Sandbox(clock=clock, **sandbox)
    stack = BulkStack(tmp, clock, sb, {sb.location_id: sb.token})
    try:
        yield stack
    finally:
        stack.close()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
