"""How ``ghl-sms bulk`` opens its engine: the ledger at once, and GHL per location only
when a campaign reads or sends, each location through its own credentials (a profile's
token, or a location token of the agency login) as ``--location`` resolves them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError
from ghl_sms.cli._storage import open_ledger
from ghl_sms.ghl import GhlClient, RequestPacer
from ghl_sms.ops.bulk import BulkEngine, EngineConfig
from ghl_sms.ops.bulk.dispatcher import SqliteLeases
from ghl_sms.ops.bulk.store import SqliteCampaignStore
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import ServiceConfig

if TYPE_CHECKING:
    from ghl_sms.ops.jobs import JobQueueUnavailable

__all__ = ["Opened", "location_of", "open_engine"]


@dataclass(frozen=True)
class Opened:
    engine: BulkEngine
    location_id: str | None
    """This invocation's own location (None when --location named several)."""


@asynccontextmanager
async def open_engine(
    app: AppContext,
    settings: Settings,
    workers: int = 8,
    *,
    named: Mapping[str, Settings] | None = None,
) -> AsyncIterator[Opened]:
    """The engine over the ledger, for this invocation's location or the ``named`` ones
    (location id -> its resolved settings).

    Only the ledger is opened here, so `bulk status`, `pause` and `cancel` work while
    another process sends (the ledger is shared); GHL, or the embedded sandbox, whose
    file one process holds at a time, is opened only when a campaign reads or sends.
    """
    own = None
    if named is None:
        own = await location_of(app, settings)
        named = {own: settings}
    path = app.ledger_path(settings)
    setting = (
        "point --ledger (GHL_SMS_LEDGER) at another folder"
        if settings.ledger_path is not None
        else "set GHL_SMS_DATA_DIR to a folder you can write"
    )
    ledger = open_ledger(path, app.clock, setting=setting, database_url=settings.database_url)
    targets = dict(named)

    @asynccontextmanager
    async def connect(wanted: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
        async with AsyncExitStack() as stack:
            try:
                client = await stack.enter_async_context(
                    app.client(_settings_for(app, targets, wanted))
                )
            except CommandError as exc:
                raise _name_the_holder(exc, ledger, wanted, app) from None
            client.pacer = pacer  # every request of the campaign claims from its budget
            yield client

    from ghl_sms.ops.jobs import JobQueueUnavailable

    try:
        try:
            engine = BulkEngine.sqlite(
                ledger,
                connect=connect,
                clock=app.clock,
                config=EngineConfig(workers=workers, default_region=settings.default_region),
                service_config=ServiceConfig(
                    default_region=settings.default_region,
                    repeat_window=settings.repeat_window,
                ),
            )
        except JobQueueUnavailable as exc:  # PostgreSQL: campaigns go to `ghl-sms worker`
            raise _queue_error(exc) from None
        yield Opened(engine, own)
    finally:
        ledger.close()


def _queue_error(error: JobQueueUnavailable) -> CommandError:
    """The library's refusal of a PostgreSQL database without its job queue, as the CLI
    says it: the reason, then what to do."""
    name = "ledger_unusable" if error.missing == "schema" else None
    return CommandError(error.reason, EXIT_USAGE, hint=error.hint, name=name)


def _settings_for(app: AppContext, targets: dict[str, Settings], wanted: str) -> Settings:
    """The settings of a campaign's location: one the command named, else (a campaign of
    another sub-account, resumed or cancelled by id) its own profile or the agency
    login's location token. GHL_TOKEN alone serves only the location it was named for."""
    if wanted in targets:
        return targets[wanted]
    found = None
    if app.resolve_location is not None:
        try:
            found = app.resolve_location(wanted)
        except CommandError:
            found = None
    if found is None or (found.profile is None and found.oauth_store is None):
        raise CommandError(
            f"Campaign is for location {wanted}; run this with --location {wanted}.",
            EXIT_USAGE,
        )
    targets[wanted] = found
    return found


async def location_of(app: AppContext, settings: Settings) -> str:
    """The location without opening anything: the sandbox's is fixed."""
    if settings.sandbox and settings.oauth_store is None:  # else a sandbox agency login's
        from ghl_sms.sandbox import DEMO_LOCATION_ID  # lazily: only --sandbox needs it

        return DEMO_LOCATION_ID
    if settings.location_id:
        return settings.location_id
    async with app.client(settings) as probe:  # says what is missing (no request is made)
        return probe.location_id


def _name_the_holder(
    error: CommandError, ledger: Ledger, location_id: str, app: AppContext
) -> CommandError:
    """The sandbox is in use: when a `ghl-sms bulk` run holds it, say so."""
    holder = SqliteLeases(ledger.db).holder(location_id, app.clock.now())
    if holder is None or holder.pid == os.getpid() or "in use" not in error.message:
        return error
    running = [c.id for c in SqliteCampaignStore(ledger.db, app.clock).running_campaigns(
        location_id
    )]  # fmt: skip
    which = f" (campaign {', '.join(running)})" if running else ""
    return CommandError(
        f"The embedded sandbox is in use by a `ghl-sms bulk` run ({holder.describe()}) that "
        f"is sending{which}.",
        EXIT_USAGE,
        hint="Follow it with `ghl-sms bulk status --sandbox`; pause or cancel it from here, "
        "or wait for it to finish.",
    )
