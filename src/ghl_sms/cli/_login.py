"""``ghl-sms login``: an agency installs the marketplace app (the authorization-code flow
with a loopback redirect) and ghl-sms keeps its tokens; every sub-account the app is
installed on can then be texted with ``--location ID``."""

from __future__ import annotations

import secrets
import sys
import webbrowser
from typing import Any

import anyio
import anyio.to_thread
import click
import httpx2

from ghl_sms._scopes import AGENCY_SCOPES, TEXTING_SCOPES
from ghl_sms._settings import Secret, Settings
from ghl_sms.accounts import AccountsError, OAuthApp, TokenStore, complete_login
from ghl_sms.cli._app import EXIT_FAILED, EXIT_USAGE, AppContext, CommandError, emit_json
from ghl_sms.cli._credentials import accounts_error, oauth_store_path
from ghl_sms.cli._loopback import CallbackError, LoopbackListener, code_from_paste
from ghl_sms.ghl import AUTHORIZE_URL, DEFAULT_BASE_URL, GhlError, OAuthClient, authorize_url

__all__ = ["DEFAULT_SCOPES", "login"]

# What texting from every sub-account needs, plus the two agency scopes.
DEFAULT_SCOPES = (*TEXTING_SCOPES, *AGENCY_SCOPES)
_PASTE_REDIRECT = "http://127.0.0.1/callback"


@click.command()
@click.option("--client-id", help="The app's Client ID (default: $GHL_CLIENT_ID).")
@click.option(
    "--app-id",
    help="The app's id, for listing its installed locations (default: the Client ID's "
    "part before the dash).",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="A scope to ask for (repeatable; default: what texting needs plus oauth.readonly "
    "and oauth.write).",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Don't wait for the redirect: paste the code (or the whole redirect URL) instead.",
)
@click.option(
    "--redirect-uri",
    help="The redirect URL registered for the app (default: http://127.0.0.1:<port>/callback).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port of the loopback redirect (default: any free one).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the redirect.",
)
@click.option("--base-url", help="API base URL (default: $GHL_BASE_URL or GHL's).")
@click.option("--authorize-url", "authorize_base", help="The authorize page (default: GHL's).")
@click.option(
    "--sandbox",
    is_flag=True,
    help="Log in to the embedded sandbox's agency (its app and consent page; no browser).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def login(
    ctx: click.Context,
    client_id: str | None,
    app_id: str | None,
    scopes: tuple[str, ...],
    no_browser: bool,
    redirect_uri: str | None,
    port: int,
    timeout: float,
    base_url: str | None,
    authorize_base: str | None,
    sandbox: bool,
    as_json: bool,
) -> None:
    """Log in with an agency's marketplace app (OAuth) to text from all its sub-accounts.

    Prints the authorize URL (and opens a browser), waits on 127.0.0.1 for GHL to
    redirect back with a code, trades it for the agency's tokens and stores them (mode
    0600) in the data dir. The client secret comes from $GHL_CLIENT_SECRET or a hidden
    prompt, never the command line. Choose the agency (not one sub-account) on the page.

    \b
    Examples:
      ghl-sms login --client-id 65f0...-lq2x3y4z
      ghl-sms login --client-id ... --no-browser      (on a remote shell: paste the code)
      ghl-sms login --sandbox                         (the sandbox's agency, no browser)
    """
    app = ctx.ensure_object(AppContext)
    settings = app.settings(sandbox=sandbox or None, base_url=base_url)
    if sandbox:
        if client_id or base_url or authorize_base:
            raise CommandError(
                "--sandbox uses the sandbox's own app and address; leave out --client-id, "
                "--base-url and --authorize-url.",
                EXIT_USAGE,
            )
        tokens = anyio.run(_sandbox_login, app, settings, scopes, port, timeout)
    else:
        client_id = (client_id or app.environ.get("GHL_CLIENT_ID", "")).strip()
        if not client_id:
            raise CommandError(
                "No client id: pass --client-id (or set GHL_CLIENT_ID).",
                EXIT_USAGE,
                hint="It is on the app's page in the GHL marketplace (Advanced Settings > Auth).",
            )
        secret = _client_secret(app)
        oauth_app = OAuthApp(
            client_id=client_id,
            client_secret=Secret(secret),
            base_url=settings.base_url or DEFAULT_BASE_URL,
            app_id=app_id,
        )
        flow = _Flow(
            app=app,
            settings=settings,
            oauth_app=oauth_app,
            scopes=scopes or DEFAULT_SCOPES,
            authorize_base=authorize_base or AUTHORIZE_URL,
            transport=app.http_transport,
        )
        tokens = (
            _paste_login(flow, redirect_uri or _PASTE_REDIRECT)
            if no_browser
            else anyio.run(flow.with_listener, port, timeout, redirect_uri, None)
        )
    company = tokens["company_id"]
    if as_json:
        emit_json(tokens)
        return
    count = len(tokens["approved_locations"])
    click.echo(
        f"Logged in to agency {company}: {count} approved location"
        f"{'' if count == 1 else 's'}. Tokens stored in {tokens['store']} (mode 0600)."
    )
    click.echo("List them with `ghl-sms locations`; text from one with --location ID.")


def _client_secret(app: AppContext) -> str:
    secret = app.environ.get("GHL_CLIENT_SECRET", "").strip()
    if secret:
        return secret
    stream = sys.stdin
    if stream.isatty():
        secret = click.prompt(
            "Client secret (not shown)", hide_input=True, prompt_suffix=": ", err=True
        ).strip()
    else:
        secret = stream.readline().strip()
    if not secret:
        raise CommandError(
            "No client secret: set GHL_CLIENT_SECRET, or type it when asked.", EXIT_USAGE
        )
    return secret


class _Flow:
    """One login: the authorize URL, the code coming back, the exchange, the store."""

    def __init__(
        self,
        *,
        app: AppContext,
        settings: Settings,
        oauth_app: OAuthApp,
        scopes: tuple[str, ...],
        authorize_base: str,
        transport: httpx2.AsyncBaseTransport | None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.oauth_app = oauth_app
        self.scopes = scopes
        self.authorize_base = authorize_base
        self.transport = transport
        self.state = secrets.token_urlsafe(16)

    def url(self, redirect_uri: str) -> str:
        return authorize_url(
            client_id=self.oauth_app.client_id,
            redirect_uri=redirect_uri,
            scopes=list(self.scopes),
            base=self.authorize_base,
            state=self.state,
        )

    async def exchange(self, code: str, redirect_uri: str) -> dict[str, Any]:
        store = TokenStore(oauth_store_path(self.settings))
        oauth = OAuthClient(
            client_id=self.oauth_app.client_id,
            client_secret=self.oauth_app.client_secret.reveal(),
            base_url=self.oauth_app.base_url,
            transport=self.transport,
            clock=self.app.clock,
        )
        try:
            async with oauth:
                stored = await complete_login(
                    store,
                    self.oauth_app,
                    oauth,
                    code=code,
                    redirect_uri=redirect_uri,
                    clock=self.app.clock,
                )
        except AccountsError as exc:
            raise accounts_error(exc) from None
        except GhlError as exc:
            raise CommandError(
                f"GHL did not accept the login: {exc.message}",
                EXIT_FAILED,
                hint="Check the client id and secret, and log in again (a code works once, "
                "for a few minutes).",
            ) from None
        return {
            "company_id": stored.company.company_id,
            "approved_locations": list(stored.company.approved_locations),
            "scope": stored.company.scope,
            "store": str(store.path),
        }

    async def with_listener(
        self,
        port: int,
        timeout: float,
        redirect_uri: str | None,
        browser: Any,
    ) -> dict[str, Any]:
        """Wait on 127.0.0.1 for the redirect; ``browser(url)`` (async) plays the
        browser (the sandbox), else the URL is printed and a browser opened."""
        try:
            listener = LoopbackListener(port)
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on 127.0.0.1:{port} for the redirect ({exc.strerror or exc}).",
                EXIT_USAGE,
                hint="Pick another --port, or use --no-browser and paste the code.",
            ) from None
        with listener:
            uri = redirect_uri or listener.redirect_uri
            url = self.url(uri)
            code: str | None = None

            async def wait() -> None:
                nonlocal code
                code = await anyio.to_thread.run_sync(
                    listener.wait, timeout, self.state, abandon_on_cancel=True
                )

            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(wait)
                    if browser is not None:
                        await browser(url)
                    else:
                        click.echo("Open this URL, choose the agency and allow:", err=True)
                        click.echo(url, err=True)
                        click.echo(f"Waiting for the redirect to {uri} ...", err=True)
                        await anyio.to_thread.run_sync(_open_browser, url)
            except* TimeoutError:
                raise CommandError(
                    f"No redirect came back within {timeout:g} s.",
                    EXIT_FAILED,
                    hint="Run `ghl-sms login` again, or with --no-browser to paste the code.",
                ) from None
            except* CallbackError as group:
                raise CommandError(str(group.exceptions[0]), EXIT_FAILED) from None
            except* CommandError as group:
                raise group.exceptions[0] from None
            assert code is not None
            return await self.exchange(code, uri)


def _open_browser(url: str) -> None:
    try:
        webbrowser.open(url)
    except Exception:  # no browser here: the printed URL is enough
        pass


def _paste_login(flow: _Flow, redirect_uri: str) -> dict[str, Any]:
    click.echo("Open this URL in a browser, choose the agency and allow:", err=True)
    click.echo(flow.url(redirect_uri), err=True)
    click.echo(
        f"The browser then goes to {redirect_uri}?code=... (the page may fail to load: "
        "that is fine). Paste the code or the whole URL.",
        err=True,
    )
    stream = sys.stdin
    pasted = (
        click.prompt("Code or URL", hide_input=True, prompt_suffix=": ", err=True)
        if stream.isatty()
        else stream.readline()
    )
    try:
        code = code_from_paste(str(pasted), flow.state)
    except CallbackError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    return anyio.run(flow.exchange, code, redirect_uri)


async def _sandbox_login(
    app: AppContext, settings: Settings, scopes: tuple[str, ...], port: int, timeout: float
) -> dict[str, Any]:
    """The whole flow against the embedded sandbox: its consent page approves at once
    (``approve=1``) and this process follows the redirect to its own loopback listener,
    as a browser would."""
    from ghl_sms.cli._storage import ensure_folder

    ensure_folder(settings.data_dir, "the sandbox state", "set GHL_SMS_DATA_DIR")
    sandbox = app._sandbox(settings)
    try:
        registered = sandbox.oauth_app
        oauth_app = OAuthApp(
            client_id=registered.client_id,
            client_secret=Secret(registered.client_secret),
            base_url=sandbox.base_url,
            app_id=registered.app_id,
        )
        flow = _Flow(
            app=app,
            settings=settings,
            oauth_app=oauth_app,
            scopes=scopes or DEFAULT_SCOPES,
            authorize_base=f"{sandbox.base_url}/oauth/chooselocation",
            transport=sandbox.transport(),
        )

        async def browser(url: str) -> None:
            async with httpx2.AsyncClient(transport=sandbox.transport()) as page:
                consent = await page.get(f"{url}&approve=1")
            target = consent.headers.get("location")
            if consent.status_code != 302 or not target:
                raise CommandError(
                    f"The sandbox's authorize page answered {consent.status_code}.", EXIT_FAILED
                )
            async with httpx2.AsyncClient(timeout=timeout) as loopback:
                await loopback.get(target)

        return await flow.with_listener(port, timeout, None, browser)
    finally:
        sandbox.close()
