"""``ghl-sms console``: the web console, on this machine's loopback by default."""

from __future__ import annotations

import webbrowser
from collections.abc import Mapping
from typing import Any

import anyio
import click

from ghl_sms._serve import ListenError, ServeLimits, is_loopback, listen
from ghl_sms._serve.options import PORT, limit_options
from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_FAILED, EXIT_USAGE, AppContext, CommandError, connection_options
from ghl_sms.cli._storage import ensure_folder
from ghl_sms.ghl import GhlError

__all__ = ["console"]

TOKEN_VARIABLE = "GHL_SMS_CONSOLE_TOKEN"


class _Lent:
    """The console's one sandbox, lent to every client it opens (one process holds the
    file); closed once, when the console stops."""

    def __init__(self, sandbox: Any) -> None:
        self._sandbox = sandbox

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sandbox, name)

    def close(self) -> None:
        pass


@click.command()
@connection_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8790, show_default=True, type=PORT, help="0 picks a free port.")
@click.option("--open", "open_browser", is_flag=True, help="Open the console in a browser.")
@click.option(
    "--token",
    help=f"Require this token (default: ${TOKEN_VARIABLE}); needed off loopback.",
)
@limit_options(max_connections=200)
def console(
    *,
    app: AppContext,
    settings: Settings,
    host: str,
    port: int,
    open_browser: bool,
    token: str | None,
    limits: ServeLimits,
) -> None:
    """A web console: the sandbox's phones, conversations, campaigns and history.

    With --sandbox, every seeded contact's phone shows texts as they arrive; reply,
    text STOP or START, and switch the carrier's behaviour per number. Conversations
    has a compose box that previews (preflight, parts, cost) before it sends; Campaigns
    follows a bulk send live, with pause, resume and cancel; History exports CSV.
    Serves on 127.0.0.1; another interface needs --token.

    \b
    Examples:
      ghl-sms console --sandbox --open
      ghl-sms console --port 8800
      GHL_SMS_CONSOLE_TOKEN=$(openssl rand -hex 32) ghl-sms console --host 0.0.0.0
    """
    from ghl_sms.console import create_console_app, serve_console

    loopback = is_loopback(host)
    secret = _token(token, app.environ, host, loopback)
    _require_credentials(settings)
    _refuse_database(settings)
    try:
        sock = listen(host, port)
    except ListenError as exc:
        raise CommandError(exc.message, EXIT_USAGE) from None
    sandbox = None
    try:
        serving = app
        if settings.sandbox:
            ensure_folder(settings.data_dir, "the sandbox state", "set GHL_SMS_DATA_DIR")
            sandbox = app._sandbox(settings)  # the same errors as every --sandbox command
            lent = _Lent(sandbox)
            serving = AppContext(
                environ=app.environ, clock=app.clock, sandbox_factory=lambda s, c: lent
            )
        application = create_console_app(
            lambda: serving.service(settings),
            clock=app.clock,
            sandbox=sandbox,
            token=secret,
            local_only=loopback,
            serve_sandbox_api=loopback,
        )

        def ready(url: str) -> None:
            shown = f"{url}/?token={secret}" if secret else f"{url}/"
            click.echo(f"ghl-sms console: {shown}")
            if sandbox is not None and loopback:
                click.echo("Other commands can use this sandbox while the console runs:")
                click.echo(f"  export GHL_BASE_URL={url} GHL_TOKEN={sandbox.token} "
                           f"GHL_LOCATION_ID={sandbox.location_id} "
                           f"GHL_SMS_LEDGER={app.ledger_path(settings)}")  # fmt: skip
            click.echo("Press Ctrl+C to stop.")
            if open_browser:
                webbrowser.open(shown)

        anyio.run(lambda: serve_console(application, sock, limits=limits, on_ready=ready))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the lifespan's failures arrive wrapped in exception groups
        cause = _first_leaf(exc)
        if isinstance(cause, CommandError):
            raise cause from None
        if not isinstance(cause, GhlError | OSError):
            raise
        raise CommandError(f"The console stopped: {cause}", EXIT_FAILED) from None
    finally:
        sock.close()
        if sandbox is not None:
            sandbox.close()


def _token(option: str | None, environ: Mapping[str, str], host: str, loopback: bool) -> str | None:
    from ghl_sms.mcp_server.http import token_problem

    source, token = "--token", option
    if token is None:
        source, token = TOKEN_VARIABLE, environ.get(TOKEN_VARIABLE) or None
    if token is None:
        if loopback:
            return None  # this machine only; the page's own guard stops other web sites
        raise CommandError(
            f"Refusing to serve the console on {host}, which other machines can reach, "
            f"without a token: set {TOKEN_VARIABLE} (for example `export {TOKEN_VARIABLE}="
            "$(openssl rand -hex 32)`) or pass --token.",
            EXIT_USAGE,
        )
    token = token.strip()
    problem = token_problem(token)
    if problem is not None:
        raise CommandError(f"The token in {source} {problem}.", EXIT_USAGE)
    return token


def _require_credentials(settings: Settings) -> None:
    if settings.sandbox:
        return
    given = {"GHL_TOKEN": settings.token, "GHL_LOCATION_ID": settings.location_id}
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise CommandError(
            f"{' and '.join(missing)} not set: set {'them' if len(missing) > 1 else 'it'} "
            "(in the environment or a .env file), or add --sandbox to try the console on the "
            "embedded sandbox.",
            EXIT_USAGE,
        )


def _refuse_database(settings: Settings) -> None:
    """The console reads the local ledger file only: on PostgreSQL its live view broke
    and it would send campaigns itself instead of queueing them for the workers."""
    if settings.database_url:
        raise CommandError(
            "ghl-sms console supports the local ledger file only, not PostgreSQL "
            "(GHL_SMS_DATABASE_URL / --database-url): unset it for the console, or use "
            "`ghl-sms bulk status` and `ghl-sms mcp` on the database.",
            EXIT_USAGE,
        )


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
