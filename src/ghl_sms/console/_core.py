"""What the console holds while it runs: one service, the bulk engine, and the sandbox.

The console opens one :class:`SmsService` (its client and ledger) for its whole life and
builds the bulk engine over the same client, so the compose box and a resumed campaign
share the location's request budget, as the MCP server does.

With the embedded sandbox, the console also does what ``ghl-sms sandbox`` does when it
serves (moving messages along and delivering webhooks), and receives those webhooks in
process with the same receiver ``ghl-sms webhooks`` runs: a STOP tapped on a phone is
signed by the sandbox, verified, and recorded in the ledger exactly as a real one.
Without the sandbox, the console polls GHL the way ``ghl-sms inbox --watch`` does.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk import BulkEngine, CampaignState
from ghl_sms.ops.bulk.for_service import engine_for_service
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.service import SmsService
from ghl_sms.ops.storage.sql import dialect
from ghl_sms.webhooks import WebhookKeys, create_app
from ghl_sms.webhooks.poller import InboxPoller

if TYPE_CHECKING:
    from ghl_sms.sandbox import Sandbox
    from ghl_sms.webhooks._processor import Processor

__all__ = ["POSTGRES_UNSUPPORTED", "CampaignRunner", "ConsoleCore", "open_core"]

logger = logging.getLogger("ghl_sms.console")

ServiceFactory = Callable[[], AbstractAsyncContextManager[SmsService]]
_RECEIVER_URL = "http://console.invalid/webhooks/ghl"
POSTGRES_UNSUPPORTED = (
    "The console supports a ledger in its local SQLite file only, not on PostgreSQL: its "
    "live view reads the file, and it would send campaigns itself instead of queueing "
    "them for the workers."
)


class CampaignRunner:
    """Sends the running campaigns the console resumed, in the background, until done."""

    def __init__(self, engine: BulkEngine, location_id: str, tasks: anyio.abc.TaskGroup) -> None:
        self.engine = engine
        self.location_id = location_id
        self._tasks = tasks
        self.active = False
        self.busy_with: str | None = None
        """Another process sending this location's campaigns, when the last run met one."""

    def kick(self) -> None:
        if not self.active:
            self.active = True
            self._tasks.start_soon(self._loop)

    def _running(self) -> list[str]:
        return [
            c.id
            for c in self.engine.campaigns(self.location_id)
            if c.state == CampaignState.RUNNING
        ]

    async def _loop(self) -> None:
        try:
            while running := self._running():
                summary = await self.engine.run(running, until="done")
                self.busy_with = summary.busy_locations.get(self.location_id)
                if summary.busy_locations:
                    break  # another process (a `ghl-sms bulk` run) sends them; don't spin
        except Exception:  # a bug must not stop the console; the campaign stays resumable
            logger.exception("bulk run stopped; `ghl-sms bulk resume` continues it")
        finally:
            self.active = False


@dataclass
class ConsoleCore:
    service: SmsService
    engine: BulkEngine
    runner: CampaignRunner
    clock: Clock
    sandbox: Sandbox | None = None
    processor: Processor | None = None
    _sandbox_lock: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def location_id(self) -> str:
        return self.service.location_id

    @property
    def ledger_db(self) -> sqlite3.Connection:
        return self.service.ledger.db

    def fingerprint(self) -> dict[str, Any]:
        """Changes here mean a view may show something new (cheap: no query of the data)."""
        db = self.ledger_db
        version = db.execute("PRAGMA data_version").fetchone()[0]  # other processes' commits
        marks: dict[str, Any] = {"ledger": [db.total_changes, version]}
        if self.sandbox is not None:
            marks["sandbox"] = self.sandbox.store.conn.total_changes
        return marks

    async def settle_sandbox(self) -> None:
        """Apply due carrier steps, deliver webhooks, and record them in the ledger now."""
        sandbox, processor = self.sandbox, self.processor
        if sandbox is None or processor is None:
            return
        async with self._sandbox_lock:
            sandbox.process_due()
            await sandbox.deliver_webhooks()
            await processor.drain()

    async def tick_sandbox(self, interval: float = 0.2) -> None:
        """Forever: what a served sandbox's ticker does, plus the receiver's processing."""
        while True:
            try:
                await self.settle_sandbox()
            except Exception:  # keep ticking; one bad delivery must not stop the phones
                logger.exception("console sandbox tick failed")
            await anyio.sleep(interval)

    async def poll_ghl(self, interval: float) -> None:
        """Forever: replies, STOPs and statuses from GHL into the ledger (no webhooks)."""
        service = self.service
        poller = InboxPoller(service.client, service.ledger, service.events, clock=self.clock)
        while True:
            try:
                await poller.poll_once()
            except Exception as exc:  # GHL down or a token problem: show it, keep trying
                logger.warning("polling GHL for replies failed: %s", exc)
            await anyio.sleep(interval)


def _engine(service: SmsService) -> BulkEngine:
    # One budget for the compose box and the campaigns alike.
    return engine_for_service(service, face="this console")


@asynccontextmanager
async def open_core(
    open_service: ServiceFactory,
    *,
    clock: Clock,
    sandbox: Sandbox | None = None,
    poll_interval: float = 15.0,
) -> AsyncIterator[ConsoleCore]:
    """The console's state, with its background work running until the block ends."""
    async with open_service() as service:
        if dialect(service.ledger.conn) == "postgres":
            raise UsageError(POSTGRES_UNSUPPORTED)
        async with anyio.create_task_group() as tasks:
            engine = _engine(service)
            core = ConsoleCore(
                service=service,
                engine=engine,
                runner=CampaignRunner(engine, service.location_id, tasks),
                clock=clock,
                sandbox=sandbox,
            )
            target = None
            if sandbox is not None:
                public = sandbox.webhook_public_keys()
                receiver = create_app(
                    keys=WebhookKeys.load(ed25519=[public["ed25519"]], rsa=[public["rsa"]]),
                    ledger=service.ledger,
                    events=service.events,
                    clock=sandbox.clock,  # the sandbox signs with its own time
                )
                core.processor = receiver.state.processor
                receiver.state.processor.recover()
                target = sandbox.add_webhook_target(
                    _RECEIVER_URL, transport=httpx2.ASGITransport(app=receiver)
                )
                tasks.start_soon(core.tick_sandbox)
            else:
                tasks.start_soon(core.poll_ghl, poll_interval)
            try:
                yield core
            finally:
                tasks.cancel_scope.cancel()
                if sandbox is not None and target is not None:
                    with anyio.CancelScope(shield=True):
                        await sandbox.remove_webhook_target(target)
