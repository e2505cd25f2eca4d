"""``ghl-sms sandbox``: serve the local GHL emulator over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import click

from ghl_sms._settings import default_data_dir

__all__ = ["sandbox"]


def default_sandbox_db() -> Path:
    """``$XDG_DATA_HOME/ghl-sms/sandbox.db`` (or ``~/.local/share/ghl-sms/sandbox.db``)."""
    return default_data_dir(os.environ) / "sandbox.db"


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8787, show_default=True, type=int, help="0 picks a free port.")
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
) -> None:
    """Serve a local GoHighLevel: the API routes ghl-sms uses, a simulated carrier,
    signed webhooks and test controls under /_sandbox/.

    State (contacts, conversations, messages) survives restarts in the database file.
    Point any GHL client at the printed URL with the printed token and location id.

    Example: ghl-sms sandbox --port 8787
    """
    from ghl_sms.sandbox import Sandbox
    from ghl_sms.sandbox.store import SandboxInUseError

    if db_path is None:
        path = default_sandbox_db()
        path.parent.mkdir(parents=True, exist_ok=True)
        db = str(path)
    else:
        db = db_path if db_path == ":memory:" else str(Path(db_path).expanduser())
    try:
        sb = Sandbox(
            db_path=db,
            burst_limit=burst_limit,
            burst_window=burst_window,
            daily_limit=daily_limit,
            strict_version=strict_version,
        )
    except SandboxInUseError as exc:
        raise click.ClickException(str(exc)) from None
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

    try:
        anyio.run(lambda: sb.serve(host=host, port=port, log_level=log_level, on_ready=ready))
    except KeyboardInterrupt:
        pass
    finally:
        sb.close()
