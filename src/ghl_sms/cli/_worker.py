"""``ghl-sms worker``: a worker process that sends campaigns from PostgreSQL.

Start as many as you like, on as many machines as share the database: each runs pump
jobs (one per location in the whole cluster at a time), and a dead or frozen worker's
pumps are taken over within ``--stall-timeout`` plus a few seconds.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from dataclasses import replace
from typing import Any

import click

from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_FAILED,
    EXIT_USAGE,
    AppContext,
    CommandError,
    connection_options,
    every_location,
    run_async,
)
from ghl_sms.cli._errors import scrub_secrets

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


def _summary(error: BaseException) -> str:
    """``Type: first line`` of an error (of the first error inside a group)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class OneLineFormatter(logging.Formatter):
    """A log record on one line: an exception as its type and first line, not a
    traceback (GHL_SMS_DEBUG=1 keeps tracebacks); passwords of URLs hidden."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info:
            return scrub_secrets(super().format(record))
        exc_info, exc_text = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = exc_info, exc_text
        if exc_info[1] is not None:
            line += f" ({_summary(exc_info[1])})"
        return scrub_secrets(line)


def _log_to_stderr(debug: bool) -> None:
    """The worker's log: warnings and errors of everything (procrastinate's too), and the
    worker's own news, one line each; left alone when logging is already configured."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(tracebacks=debug))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("ghl_sms.ops.jobs").setLevel(logging.INFO)


def _require_credentials(app: AppContext, settings: Settings) -> None:
    """A worker that can reach no sub-account would take pump jobs and fail every one
    (another worker could have sent them): refuse to start instead."""
    from ghl_sms.accounts import TokenStore
    from ghl_sms.cli._credentials import load_config, oauth_store_path

    if settings.token or TokenStore(oauth_store_path(settings)).exists():
        return
    config = app.config_file
    if config is not None and config.exists() and load_config(config).profiles:
        return
    raise CommandError(
        "ghl-sms worker has no credentials for any sub-account, so it could send nothing.",
        EXIT_USAGE,
        hint="Give it what `ghl-sms bulk send` uses on this machine: a config file with "
        "sub-account profiles (GHL_SMS_CONFIG), an agency login (`ghl-sms login`), or "
        "GHL_TOKEN with GHL_LOCATION_ID.",
    )


def _listen_metrics(port: int | None) -> socket.socket | None:
    """The /metrics socket, bound before anything starts: a busy port is one line."""
    if port is None:
        return None
    from ghl_sms._serve import ListenError, listen

    try:
        return listen("127.0.0.1", port)
    except ListenError as exc:
        raise CommandError(
            f"--metrics-port {port}: {exc.message}",
            EXIT_USAGE,
            hint="Choose another port, or 0 for any free one (the ready line names it).",
        ) from None


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
    if settings.sandbox:
        raise CommandError(
            "ghl-sms worker can't use the embedded sandbox (one process holds its file).",
            EXIT_USAGE,
            hint="Serve one with `ghl-sms sandbox` and give its address with --base-url.",
        )
    if not settings.database_url:
        raise CommandError(
            "ghl-sms worker runs campaigns from PostgreSQL, and no database was given.",
            EXIT_USAGE,
            hint="Set GHL_SMS_DATABASE_URL=postgresql://... (or --database-url); without "
            "it, `ghl-sms bulk send` sends from this process.",
        )
    _require_credentials(app, settings)
    limits = _rate_limit(rate_limit)
    _log_to_stderr(debug=app.environ.get("GHL_SMS_DEBUG", "") not in ("", "0"))
    sock = _listen_metrics(metrics_port)
    try:
        serve = _serve(app, settings, default_location, concurrency, sock, sends,
                       stall_timeout, slice_seconds, limits)  # fmt: skip
        run_async(lambda: serve)
    finally:
        if sock is not None:
            sock.close()


async def _serve(
    app: AppContext,
    settings: Settings,
    default_location: str | None,
    concurrency: int,
    metrics_socket: socket.socket | None,
    sends: int,
    stall_timeout: float,
    slice_seconds: float,
    limits: tuple[int, float] | None,
) -> None:
    from ghl_sms.cli._bulk_wiring import open_engine

    try:
        from ghl_sms.ops.jobs.runtime import PumpRuntime, WorkerSettings
        from ghl_sms.ops.jobs.serve import CountingTransport, DatabaseLost, serve_worker
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
        db = engine.ledger.conn  # its job queue is checked by open_engine
        worker_settings = WorkerSettings(
            concurrency=concurrency, slice_seconds=slice_seconds, stall_timeout=stall_timeout
        )
        runtime = PumpRuntime(engine, db, app.clock, worker_settings)
        assert settings.database_url is not None

        def ready(info: dict[str, Any]) -> None:
            click.echo(json.dumps({"ready": True} | info), err=True)

        try:
            await serve_worker(
                settings.database_url,
                runtime,
                transport=transport,
                metrics_socket=metrics_socket,
                daily_cap=rate_limits.daily,
                on_ready=ready,
            )
        except DatabaseLost:
            raise CommandError(
                f"Lost the connection to the database {settings.database_url}; stopped.",
                EXIT_FAILED,
                hint="Start it again (a supervisor such as systemd can restart it on "
                "failure): its pumps are taken over, and nobody is texted twice.",
                name="database_lost",
            ) from None
