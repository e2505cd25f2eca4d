"""``ghl-sms worker``: a worker process that sends campaigns from PostgreSQL.

Start as many as you like, on as many machines as share the database: each runs pump
jobs (one per location in the whole cluster at a time), and a dead or frozen worker's
pumps are taken over within ``--stall-timeout`` plus a few seconds.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_USAGE,
    AppContext,
    CommandError,
    connection_options,
    every_location,
    run_async,
)

__all__ = ["worker"]


def _rate_limit(text: str | None) -> tuple[int, float] | None:
    if text is None:
        return None
    burst, _, window = text.partition("/")
    try:
        parsed = int(burst), float(window)
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 1 or parsed[1] <= 0:
        raise CommandError(
            f"--rate-limit {text!r} is not BURST/SECONDS (for example 100/10).", EXIT_USAGE
        )
    return parsed


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="Locations this process pumps at once.")  # fmt: skip
@click.option("--metrics-port", type=click.IntRange(0, 65535), metavar="PORT",
              help="Serve Prometheus text at http://127.0.0.1:PORT/metrics.")  # fmt: skip
@click.option("--workers", "sends", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent sends per location.")  # fmt: skip
@click.option("--stall-timeout", type=click.FloatRange(3, 600), default=30.0, show_default=True,
              metavar="SECONDS", help="A worker silent this long is taken over.")  # fmt: skip
@click.option("--slice", "slice_seconds", type=click.FloatRange(1, 3600), default=60.0,
              show_default=True, metavar="SECONDS",
              help="How long a pump job runs before handing over.")  # fmt: skip
@click.option("--rate-limit", metavar="BURST/SECONDS", hidden=True,
              help="GHL's request limit per location (a sandbox with scaled limits).")  # fmt: skip
@connection_options
@every_location
def worker(
    *,
    app: AppContext,
    settings: Settings,
    default_location: str | None,
    concurrency: int,
    metrics_port: int | None,
    sends: int,
    stall_timeout: float,
    slice_seconds: float,
    rate_limit: str | None,
) -> None:
    """Send campaigns from PostgreSQL: run pump jobs until stopped (Ctrl-C, SIGTERM).

    Needs GHL_SMS_DATABASE_URL (or --database-url) at the current schema (`ghl-sms db
    upgrade`). Each location is texted through its own credentials: the config's
    profiles, the agency login, or GHL_TOKEN for GHL_LOCATION_ID. `bulk send` and
    `bulk resume` only enqueue in this mode; workers send.

    \b
    Examples:
      ghl-sms worker --database-url postgresql://sms@db/sms
      ghl-sms worker --concurrency 100 --metrics-port 9464
    """
    if not settings.database_url:
        raise CommandError(
            "ghl-sms worker runs campaigns from PostgreSQL, and no database was given.",
            EXIT_USAGE,
            hint="Set GHL_SMS_DATABASE_URL=postgresql://... (or --database-url); without "
            "it, `ghl-sms bulk send` sends from this process.",
        )
    if settings.sandbox:
        raise CommandError(
            "ghl-sms worker can't use the embedded sandbox (one process holds its file).",
            EXIT_USAGE,
            hint="Serve one with `ghl-sms sandbox` and give its address with --base-url.",
        )
    limits = _rate_limit(rate_limit)
    run_async(
        lambda: _serve(app, settings, default_location, concurrency, metrics_port, sends,
                       stall_timeout, slice_seconds, limits)  # fmt: skip
    )


async def _serve(
    app: AppContext,
    settings: Settings,
    default_location: str | None,
    concurrency: int,
    metrics_port: int | None,
    sends: int,
    stall_timeout: float,
    slice_seconds: float,
    limits: tuple[int, float] | None,
) -> None:
    from ghl_sms.cli._bulk_wiring import open_engine

    try:
        from ghl_sms.ops.jobs.runtime import PumpRuntime, WorkerSettings
        from ghl_sms.ops.jobs.serve import CountingTransport, serve_worker
    except ImportError as exc:
        raise CommandError(
            f"PostgreSQL support is not installed ({exc.name} is missing).",
            EXIT_USAGE,
            hint="pip install 'ghl-sms[postgres]'",
        ) from None

    transport = CountingTransport(app.http_transport)
    app.http_transport = transport
    named: dict[str, Settings] = {}
    own = default_location or settings.location_id
    if own and app.resolve_location is not None:
        resolved = app.resolve_location(own)
        if resolved.location_id:
            named[resolved.location_id] = resolved
    async with open_engine(app, settings, sends, named=named) as opened:
        engine = opened.engine
        rate_limits = engine.config.rate_limits
        if limits is not None:
            rate_limits = replace(rate_limits, burst=limits[0], window=limits[1])
        engine.config = replace(
            engine.config,
            rate_limits=rate_limits,
            lease_ttl=stall_timeout,
            idle_poll=min(engine.config.idle_poll, 1.0),
        )
        db = engine.ledger.conn
        present = db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if not present[0]:
            raise CommandError(
                "The database has no job queue yet.",
                EXIT_USAGE,
                hint="Run `ghl-sms db upgrade` (with the same --database-url) first.",
            )
        worker_settings = WorkerSettings(
            concurrency=concurrency, slice_seconds=slice_seconds, stall_timeout=stall_timeout
        )
        runtime = PumpRuntime(engine, db, app.clock, worker_settings)
        assert settings.database_url is not None

        def ready(info: dict[str, Any]) -> None:
            click.echo(json.dumps({"ready": True} | info), err=True)

        await serve_worker(
            settings.database_url,
            runtime,
            transport=transport,
            metrics_port=metrics_port,
            daily_cap=rate_limits.daily,
            on_ready=ready,
        )
