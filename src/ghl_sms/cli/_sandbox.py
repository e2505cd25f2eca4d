"""``ghl-sms sandbox``: serve the local GHL emulator over HTTP."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import anyio
import click

from ghl_sms._serve import ListenError, ServeLimits, is_loopback, listen
from ghl_sms._serve.options import PORT, limit_options
from ghl_sms._settings import default_data_dir
from ghl_sms.cli._app import EXIT_USAGE, CommandError

__all__ = ["sandbox"]


def default_sandbox_db() -> Path:
    """``$XDG_DATA_HOME/ghl-sms/sandbox.db`` (or ``~/.local/share/ghl-sms/sandbox.db``)."""
    return default_data_dir(os.environ) / "sandbox.db"


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8787, show_default=True, type=PORT, help="0 picks a free port.")
@click.option(
    "--db",
    "db_path",
    default=None,
    help="SQLite file keeping the sandbox's state; ':memory:' for a throwaway one. "
    "[default: sandbox.db in the ghl-sms data directory]",
)
@click.option("--reset", is_flag=True, help="Forget the stored state and start from the seed.")
@click.option("--burst-limit", default=100, show_default=True, type=int,
              help="Requests per window per token.")  # fmt: skip
@click.option("--burst-window", default=10.0, show_default=True, type=float,
              help="Burst window, seconds.")  # fmt: skip
@click.option("--daily-limit", default=200_000, show_default=True, type=int,
              help="Requests per day per token.")  # fmt: skip
@click.option("--strict-version", is_flag=True,
              help="Require each module's own Version value instead of any known one.")  # fmt: skip
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
@limit_options(max_connections=1000)
def sandbox(
    host: str,
    port: int,
    db_path: str | None,
    reset: bool,
    burst_limit: int,
    burst_window: float,
    daily_limit: int,
    strict_version: bool,
    log_level: str,
    limits: ServeLimits,
) -> None:
    """Serve a local GoHighLevel: the API routes ghl-sms uses, a simulated carrier,
    signed webhooks and test controls under /_sandbox/.

    State (contacts, conversations, messages) survives restarts in the database file.
    Point any GHL client at the printed URL with the printed token and location id.

    Example: ghl-sms sandbox --port 8787
    """
    from ghl_sms.sandbox import Sandbox
    from ghl_sms.sandbox.store import SandboxInUseError

    db = _database(db_path)
    try:
        sock = listen(host, port)
    except ListenError as exc:
        raise CommandError(exc.message, EXIT_USAGE) from None
    try:
        sb = Sandbox(
            db_path=db,
            burst_limit=burst_limit,
            burst_window=burst_window,
            daily_limit=daily_limit,
            strict_version=strict_version,
        )
    except SandboxInUseError as exc:
        sock.close()
        raise CommandError(str(exc), EXIT_USAGE) from None
    except sqlite3.DatabaseError as exc:
        sock.close()
        raise CommandError(_unusable(db, exc), EXIT_USAGE) from None
    if reset:
        sb.reset()

    def ready(base_url: str) -> None:
        click.echo(f"GHL sandbox listening on {base_url}")
        click.echo(f"  base URL     {base_url}")
        click.echo(f"  token        {sb.token}")
        click.echo(f"  location id  {sb.location_id}")
        click.echo(f"  database     {db}")
        click.echo(f"  controls     {base_url}/_sandbox/state (reply, clock, faults, webhooks)")
        click.echo("Use it from ghl-sms with:")
        click.echo(f"  export GHL_BASE_URL={base_url} GHL_TOKEN={sb.token} "
                   f"GHL_LOCATION_ID={sb.location_id}")  # fmt: skip
        click.echo("Press Ctrl+C to stop.")

    if not is_loopback(host):
        click.echo(
            f"Warning: listening on {host}, which other machines can reach. The sandbox's token "
            "is public (the seeded demo token) and its /_sandbox/ controls (reset, clock, "
            "faults) need none: anyone who reaches this port can use both. Use --host "
            "127.0.0.1 to keep it to this machine.",
            err=True,
        )
    try:
        anyio.run(lambda: sb.serve(sock=sock, limits=limits, log_level=log_level, on_ready=ready))
    except KeyboardInterrupt:
        pass
    finally:
        sb.close()


def _database(db_path: str | None) -> str:
    """The database to open; a one-line usage error when it can't be created there."""
    if db_path == ":memory:":
        return db_path
    if db_path is None:
        path = default_sandbox_db()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(
                f"cannot create the data folder {path.parent}: {exc.strerror}; set "
                "GHL_SMS_DATA_DIR to a writable folder, or pass --db",
                EXIT_USAGE,
            ) from None
        return str(path)
    path = Path(db_path).expanduser()
    if path.is_dir():
        raise CommandError(
            f"--db {path} is a folder; give a database file, e.g. --db {path / 'sandbox.db'}",
            EXIT_USAGE,
        )
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise CommandError(
            f"cannot create the sandbox database {path}: the folder {folder} {problem}; "
            f"create it (mkdir -p {folder}) or pass another --db",
            EXIT_USAGE,
        )
    return str(path)


def _unusable(db: str, exc: sqlite3.DatabaseError) -> str:
    if isinstance(exc, sqlite3.OperationalError):
        return (
            f"cannot open the sandbox database {db} ({exc}); check that its folder is "
            "writable, or pass another --db"
        )
    return f"{db} is not a sandbox database or is damaged; pass another --db (it was left as it is)"
