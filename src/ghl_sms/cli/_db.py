"""``ghl-sms db``: the ledger database's schema (``status``) and migrating it (``upgrade``).

On the embedded SQLite file, every command migrates the file as it opens it, as before;
these commands only show or force that. On PostgreSQL (``--database-url`` or
``GHL_SMS_DATABASE_URL``) nothing else ever migrates: every other command refuses a
database at another schema version and says to run ``ghl-sms db upgrade``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import click

from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError, emit_json
from ghl_sms.cli._errors import scrub_secrets
from ghl_sms.cli._storage import check_database_url, open_ledger
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.storage import schema
from ghl_sms.ops.storage.sql import Connection

__all__ = ["db"]


def _options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--database-url",
                metavar="URL",
                help="postgresql://... (default: $GHL_SMS_DATABASE_URL, else the ledger file).",
            ),
            click.option(
                "--ledger",
                "ledger_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Ledger file (default: ledger.db in the data dir).",
            ),
            click.option(
                "--env-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Read settings from this .env file (default: ./.env).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
        ]
    ):
        fn = option(fn)
    return fn


def _settings(app: AppContext, kwargs: dict[str, Any]) -> Settings:
    return app.settings(
        ledger_path=kwargs["ledger_path"],
        database_url=kwargs["database_url"],
        env_file=kwargs["env_file"],
    )


def _where(settings: Settings) -> str:
    if settings.database_url:
        return scrub_secrets(settings.database_url)
    return str(settings.ledger_file)


def _connect(app: AppContext, settings: Settings) -> Connection:
    """The database itself, without the schema check every other command makes."""
    if settings.database_url:
        from ghl_sms.ops.storage.postgres import connect

        check_database_url(settings.database_url)
        try:
            return connect(settings.database_url)
        except LedgerUnusable as exc:
            raise CommandError(str(exc), EXIT_USAGE, name="ledger_unusable") from None
    # The SQLite file migrates as it opens (created if missing): the ledger does it all.
    ledger = open_ledger(
        settings.ledger_file, app.clock, setting="point --ledger (GHL_SMS_LEDGER) elsewhere"
    )
    return ledger.db


def _report(status: schema.SchemaStatus, where: str) -> dict[str, Any]:
    return {
        "backend": status.dialect,
        "database": where,
        "version": status.version,
        "latest": status.latest,
        "current": status.current,
        "pending": list(status.pending),
        "unknown": list(status.unknown),
    }


@click.group("db")
def db() -> None:
    """The ledger database: its schema version, and migrating it (PostgreSQL)."""


@db.command("status")
@_options
@click.pass_context
def status_cmd(ctx: click.Context, /, **kwargs: Any) -> None:
    """Show the schema version of the ledger database and what an upgrade would apply."""
    app = ctx.ensure_object(AppContext)
    settings = _settings(app, kwargs)
    conn = _connect(app, settings)
    try:
        found = schema.status(conn)
    finally:
        conn.close()
    report = _report(found, _where(settings))
    if kwargs["as_json"]:
        emit_json(report)
        return
    click.echo(f"{report['backend']} {report['database']}")
    click.echo(f"schema version {found.version} of {found.latest}")
    if found.unknown:
        click.echo("newer than this ghl-sms: " + ", ".join(found.unknown))
    elif found.pending:
        click.echo("pending: " + ", ".join(found.pending))
        click.echo("run `ghl-sms db upgrade` to apply them")
    else:
        click.echo("up to date")


@db.command("upgrade")
@_options
@click.pass_context
def upgrade_cmd(ctx: click.Context, /, **kwargs: Any) -> None:
    """Apply the pending migrations (and, on PostgreSQL, the job engine's schema).

    Safe to run again and from several machines at once: each migration is applied
    once, under a lock.
    """
    app = ctx.ensure_object(AppContext)
    settings = _settings(app, kwargs)
    conn = _connect(app, settings)
    try:
        found = schema.status(conn)
        if found.unknown:
            raise CommandError(
                f"The database {_where(settings)} has a newer schema than this ghl-sms "
                f"knows ({', '.join(found.unknown)}); upgrade ghl-sms instead.",
                EXIT_USAGE,
            )
        applied = schema.upgrade(conn)
        jobs = False
        if settings.database_url:
            hook = schema.job_schema_hook()
            if hook is not None:
                url = settings.database_url
                anyio.run(lambda: hook(url))
                jobs = True
        after = schema.status(conn)
    finally:
        conn.close()
    report = _report(after, _where(settings)) | {"applied": applied, "job_schema": jobs}
    if kwargs["as_json"]:
        emit_json(report)
        return
    for name in applied:
        click.echo(f"applied {name}")
    if jobs:
        click.echo("job engine schema applied")
    click.echo(f"{report['backend']} {report['database']}: schema version {after.version} "
               f"of {after.latest}{'' if applied else ' (already up to date)'}")  # fmt: skip
