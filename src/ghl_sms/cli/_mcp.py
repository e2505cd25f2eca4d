"""``ghl-sms mcp`` (the MCP server) and ``ghl-sms doctor`` (is this setup ready for it?)."""

from __future__ import annotations

import functools
import logging
import socket
import sys
from collections.abc import Mapping

import anyio
import click

from ghl_sms._serve import ListenError, ServeLimits, listen
from ghl_sms._serve.options import PORT, limit_options
from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_FAILED,
    EXIT_USAGE,
    AppContext,
    CommandError,
    common_options,
    connection_options,
    emit_json,
    every_location,
)
from ghl_sms.ghl import GhlError
from ghl_sms.ops.errors import OpsError

__all__ = ["doctor", "mcp"]

logger = logging.getLogger("ghl_sms.mcp_server")

_QUIET_LOGGERS = (
    "httpx2",
    "httpcore2",
    "uvicorn.error",
    "mcp.server.lowlevel.server",
    "procrastinate",  # "Registering task ..." at each start on PostgreSQL
)


def _log_to_stderr(level: str) -> None:
    """stdout is the protocol on stdio: every log line goes to stderr."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET_LOGGERS:  # one line per HTTP request or session is noise here
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def _missing_settings(settings: Settings) -> str | None:
    if settings.sandbox:
        return None
    missing = [
        name
        for name, value in (
            ("GHL_TOKEN", settings.token or settings.oauth_store),
            ("GHL_LOCATION_ID", settings.location_id),
        )
        if not value
    ]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not set: set {'them' if len(missing) > 1 else 'it'} in the "
        "environment (or the MCP client's env block, or a .env file), or add --sandbox to try "
        "it against the embedded sandbox."
    )


@click.command()
@connection_options
@every_location
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP: interface to bind.")
@click.option("--port", default=8000, show_default=True, type=PORT, help="HTTP: 0 picks one.")
@click.option(
    "--http-token",
    help="HTTP: the bearer token clients must send (default: $GHL_SMS_MCP_TOKEN).",
)
@click.option(
    "--no-confirm",
    is_flag=True,
    help="Don't ask the user to confirm each send (trusted automation only).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@limit_options(max_connections=100)
def mcp(
    *,
    app: AppContext,
    settings: Settings,
    default_location: str | None,
    use_http: bool,
    host: str,
    port: int,
    http_token: str | None,
    no_confirm: bool,
    log_level: str,
    limits: ServeLimits,
) -> None:
    """Serve the ghl-sms tools to Claude, Cursor or any MCP client.

    Speaks MCP on stdin/stdout (what desktop clients start), or streamable HTTP at
    /mcp with --http, where every request needs `Authorization: Bearer <token>`.
    One server texts for every configured sub-account: each profile of the config
    file, GHL_LOCATION_ID with GHL_TOKEN, and every sub-account of the agency login
    (`ghl-sms login`); tools take a `location`, and --location (else GHL_LOCATION_ID,
    else the config's default) is the default. --sandbox needs no credentials.
    Run `ghl-sms doctor --all` first to check a real setup.

    \b
    Examples:
      ghl-sms mcp --sandbox
      claude mcp add ghl-sms -e GHL_TOKEN=pit-... -e GHL_LOCATION_ID=... -- ghl-sms mcp
      claude mcp add ghl-sms -- ghl-sms mcp --config ~/.config/ghl-sms/config.toml
      GHL_SMS_MCP_TOKEN=$(openssl rand -hex 32) ghl-sms mcp --http --port 8000
    """
    # Only what the first tools/list needs: the locations, the sandbox and the ledger open
    # on the first tool call (ghl_sms.mcp_server._locations).
    from ghl_sms.cli._mcp_locations import mcp_locations
    from ghl_sms.mcp_server._listing import default_listing_dir
    from ghl_sms.mcp_server.server import build_server

    assert app.config_file is not None
    locations = mcp_locations(app, settings, wanted=default_location, config=app.config_file)
    token = _http_token(http_token, app.environ, host) if use_http else None
    # Bound before anything starts: a busy port is one line, and --port 0 is known.
    sock = _listen(host, port) if use_http else None
    try:
        _log_to_stderr(log_level)
        # stdio: a desktop client waits for the tool list at every start, so it is kept
        # beside the bytecode (HTTP servers start once and list on demand).
        listing = None if use_http else default_listing_dir()
        server = build_server(locations, confirm=not no_confirm, listing_cache=listing)
        if no_confirm:
            logger.warning("sends are not confirmed by the user (--no-confirm)")
        if sock is None or token is None:
            server.run()
            return
        from ghl_sms.mcp_server.http import serve_http

        serve = functools.partial(
            serve_http, server, host=host, sock=sock, token=token, limits=limits
        )
        anyio.run(serve)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the lifespan's failures arrive wrapped in exception groups
        from ghl_sms.sandbox.store import SandboxInUseError

        cause = _first_leaf(exc)
        if not isinstance(cause, GhlError | OpsError | OSError | SandboxInUseError | CommandError):
            raise
        message = cause.message if isinstance(cause, CommandError) else str(cause)
        if isinstance(cause, SandboxInUseError):
            message += (
                ". Another `ghl-sms mcp --sandbox` may be running (one per MCP client): give "
                "this one its own GHL_SMS_DATA_DIR"
            )
        raise CommandError(f"The MCP server stopped: {message}", EXIT_FAILED) from None
    finally:
        if sock is not None:
            sock.close()


def _http_token(option: str | None, environ: Mapping[str, str], host: str) -> str:
    """The bearer token for --http, from the option or GHL_SMS_MCP_TOKEN; never echoed."""
    from ghl_sms.mcp_server.http import is_loopback, token_problem

    source, token = "--http-token", option
    if token is None:
        source, token = "GHL_SMS_MCP_TOKEN", environ.get("GHL_SMS_MCP_TOKEN")
    if token is None:
        # Required on loopback too: any local process or web page could otherwise text as
        # you. We don't make one up, since printing it would put a secret in the logs.
        where = "" if is_loopback(host) else f" on {host}"
        raise CommandError(
            f"Refusing to serve MCP over HTTP{where} without a bearer token: set "
            "GHL_SMS_MCP_TOKEN (for example `export GHL_SMS_MCP_TOKEN=$(openssl rand -hex "
            "32)`) or pass --http-token; clients send it as `Authorization: Bearer <token>`.",
            EXIT_USAGE,
        )
    token = token.strip()
    problem = token_problem(token)
    if problem is not None:
        raise CommandError(
            f"The bearer token in {source} {problem} (for example `export "
            f"GHL_SMS_MCP_TOKEN=$(openssl rand -hex 32)`).",
            EXIT_USAGE,
        )
    return token


def _listen(host: str, port: int) -> socket.socket:
    try:
        return listen(host, port)
    except ListenError as exc:
        raise CommandError(exc.message, EXIT_USAGE) from None


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}


@click.command()
@common_options
@click.option(
    "--all",
    "all_locations",
    is_flag=True,
    help="Check every configured sub-account (profiles and the agency login's), one table.",
)
def doctor(*, app: AppContext, settings: Settings, as_json: bool, all_locations: bool) -> None:
    """Check a GHL setup before wiring it into an assistant. Sends nothing.

    Checks that GHL accepts the token, that it reaches the location, that each scope
    texting needs is granted (each missing one is named), that there is an
    SMS-capable sending number (and which is the default), and that the local ledger
    is writable. Each failed check says what to change in GHL. Exits 1 on a failure.

    \b
    Examples:
      GHL_TOKEN=pit-... GHL_LOCATION_ID=... ghl-sms doctor
      ghl-sms doctor --location downtown
      ghl-sms doctor --all          (every profile and agency location, one table)
    """
    from ghl_sms.mcp_server.doctor import Check, check_ledger, diagnose

    if all_locations:
        from ghl_sms.cli._doctor_all import doctor_all

        assert app.config_file is not None
        doctor_all(app, settings, config=app.config_file, as_json=as_json)
        return

    async def main() -> tuple[str | None, list[Check]]:
        problem = _missing_settings(settings)
        if problem is not None:
            return settings.location_id, [Check("settings", "fail", problem)]
        async with app.client(settings) as client:
            return client.location_id, await diagnose(client)

    location_id, checks = anyio.run(main)
    checks.append(check_ledger(app.ledger_path(settings), app.clock))
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        emit_json({"ok": not failed, "checks": [c.as_json() for c in checks]})
    else:
        where = "the embedded sandbox" if settings.sandbox else settings.base_url
        click.echo(f"ghl-sms doctor: location {location_id or '(not set)'} at {where}")
        width = max(len(c.name) for c in checks)
        for check in checks:
            click.echo(f"  {_MARK[check.status]}  {check.name:<{width}}  {check.detail}")
            if check.fix and check.status in ("fail", "warn"):
                click.echo(f"        {' ' * width}  fix: {check.fix}")
        if failed:
            click.echo(
                f"{len(failed)} problem{'s' if len(failed) > 1 else ''}: fix "
                f"{'them' if len(failed) > 1 else 'it'}, then run `ghl-sms doctor` again."
            )
        else:
            click.echo("Ready: add it to your assistant with `ghl-sms mcp` (see the README).")
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)
