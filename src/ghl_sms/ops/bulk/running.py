"""The engine's side of a dispatch (``dispatcher.PumpRunner``): which locations have
work for this run, when the run is over, and one location's pump, built from the
engine's parts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ghl_sms.ops.bulk.dispatcher import HeldLease
from ghl_sms.ops.bulk.models import Campaign, CampaignState
from ghl_sms.ops.bulk.progress import ProgressCallback
from ghl_sms.ops.bulk.pump import Pump, PumpConfig, Until
from ghl_sms.ops.service import SmsService

if TYPE_CHECKING:
    from ghl_sms.ops.bulk.engine import BulkEngine

__all__ = ["Runner"]


class Runner:
    """The engine's side of a dispatch (``dispatcher.PumpRunner``)."""

    def __init__(
        self,
        engine: BulkEngine,
        watch: set[str] | None,
        until: Until,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.watch = watch
        self.until = until
        self.on_progress = on_progress
        self.seen: set[str] = set()
        self._idle: set[str] = set()

    def _watched(self) -> list[Campaign]:
        store = self.store
        return [c for c in (store.get_campaign(i) for i in self.watch or ()) if c is not None]

    def locations(self) -> list[str]:
        store = self.store
        if self.watch is not None and self.until != "forever":
            running = {c.location_id for c in self._watched() if c.state == CampaignState.RUNNING}
            locations = sorted(running)
        else:
            locations = store.locations_with_running()
            for location_id in locations:
                self.seen.update(c.id for c in store.running_campaigns(location_id))
        # With until="idle" a location whose pump ran out of due work is done for this run.
        return [loc for loc in locations if loc not in self._idle]

    def finished(self) -> bool:
        if self.until == "forever":
            return False
        if self.until == "idle":
            return True
        if self.watch is not None:
            return all(c.state != CampaignState.RUNNING for c in self._watched())
        return not self.store.locations_with_running()

    async def pump(self, location_id: str, lease: HeldLease) -> None:
        await self._run_pump(location_id, lease)
        if self.until == "idle" and not lease.lost:
            self._idle.add(location_id)

    async def _run_pump(self, location_id: str, lease: HeldLease) -> None:
        """One location's pump, under its lease, until this run's ``until`` says stop."""
        engine = self.engine
        pacer = engine.pacer(location_id)
        async with engine.connect(location_id, pacer) as client:
            service = SmsService(
                client, engine.ledger, clock=engine.clock, config=engine.service_config
            )
            zone = None
            running = engine.store.running_campaigns(location_id)
            if any(c.caps_spec.per_day or c.caps_spec.number_per_day for c in running):
                zone = await engine.location_zone(location_id, client)
            pump = Pump(
                location_id=location_id,
                store=engine.store,
                guards=engine.guards,
                ledger=engine.ledger,
                service=service,
                budget=engine.budget,
                pacer=pacer,
                clock=engine.clock,
                lease=lease,
                config=PumpConfig(
                    workers=engine.config.workers,
                    idle_poll=engine.config.idle_poll,
                    retry_base=engine.config.retry_base,
                    retry_max=engine.config.retry_max,
                ),
                until=self.until,
                watch=self.watch,
                on_progress=self.on_progress,
                location_zone=zone,
            )
            await pump.run()
