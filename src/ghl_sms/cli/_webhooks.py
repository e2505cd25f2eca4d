"""``ghl-sms webhooks``: run the webhook receiver."""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from pathlib import Path

import click

from ghl_sms._serve import HttpServer, ListenError, ServeLimits, listen, url_of
from ghl_sms._serve.options import PORT, limit_options
from ghl_sms._settings import Settings, read_env_file
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError, run_async
from ghl_sms.ghl import ConfigError, GhlClient, GhlError
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.webhooks import (
    DEFAULT_MAX_BODY_BYTES,
    WEBHOOK_PATH,
    OptOutHook,
    OptOutNotice,
    WebhookKeys,
    create_app,
)

__all__ = ["webhooks"]

logger = logging.getLogger("ghl_sms.webhooks")

ED25519_ENV = "GHL_WEBHOOK_PUBLIC_KEY"
RSA_ENV = "GHL_WEBHOOK_RSA_PUBLIC_KEY"


_KEY_FILE_SUFFIXES = (".pem", ".key", ".pub", ".der", ".txt", ".crt")


def _key_text(value: str) -> str:
    """A key given inline, or the contents of the file it names."""
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "is not a text file" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        raise CommandError(
            f"The webhook key file {path} {reason}.",
            EXIT_USAGE,
            hint="Give the PEM file HighLevel published, or the key itself as PEM, hex or base64.",
        ) from None
    if value.lower().endswith(_KEY_FILE_SUFFIXES) or value.startswith(("./", "../", "~")):
        # Clearly meant as a file (a raw key is hex or base64, never ending in .pem).
        raise CommandError(
            f"The webhook key file {path} does not exist.",
            EXIT_USAGE,
            hint="Check the path, or give the key itself as PEM, hex or base64.",
        )
    return value


def _load_keys(
    environ: Mapping[str, str], ed25519: tuple[str, ...], rsa: tuple[str, ...], no_rsa: bool
) -> tuple[WebhookKeys, str]:
    """The keys, and how to describe the RSA ones."""
    ed25519_texts = list(ed25519) or ([environ[ED25519_ENV]] if environ.get(ED25519_ENV) else [])
    rsa_texts = list(rsa) or ([environ[RSA_ENV]] if environ.get(RSA_ENV) else [])
    try:
        keys = WebhookKeys.load(
            ed25519=[_key_text(k) for k in ed25519_texts],
            rsa=() if no_rsa else ([_key_text(k) for k in rsa_texts] or None),
        )
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if not keys:
        raise CommandError(
            f"No key to verify webhooks with: give --ed25519-key (or set {ED25519_ENV}), "
            "or drop --no-rsa.",
            EXIT_USAGE,
        )
    rsa_label = "off" if no_rsa else f"{len(rsa_texts)} key(s)" if rsa_texts else "GHL's key"
    return keys, rsa_label


def _dnd_hook(client: GhlClient) -> OptOutHook:
    async def set_sms_dnd(notice: OptOutNotice) -> None:
        if notice.contact_id is None:
            return
        if notice.location_id != client.location_id:
            logger.warning(
                "opt-out from contact %s of location %s: not setting DND, the token is for %s",
                notice.contact_id,
                notice.location_id,
                client.location_id,
            )
            return
        try:
            await client.update_contact_dnd(notice.contact_id, sms_status="permanent")
        except GhlError as exc:
            logger.warning(
                "could not set SMS DND on contact %s in GHL (the local opt-out stands): %s",
                notice.contact_id,
                exc,
            )
        else:
            logger.info("SMS DND set on contact %s after an opt-out", notice.contact_id)

    return set_sms_dnd


@click.command("webhooks")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. Keep 127.0.0.1 behind a reverse proxy.",
)
@click.option("--port", default=8788, show_default=True, type=PORT, help="0 picks a free port.")
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ledger file (default: $GHL_SMS_LEDGER, else ~/.local/share/ghl-sms/ledger.db).",
)
@click.option(
    "--ed25519-key",
    "ed25519_keys",
    multiple=True,
    metavar="PEM_OR_PATH",
    help=f"Public key for x-ghl-signature: PEM, a PEM file, or the raw key as base64 or hex. "
    f"Repeat it during a key rotation. (default: ${ED25519_ENV})",
)
@click.option(
    "--rsa-key",
    "rsa_keys",
    multiple=True,
    metavar="PATH",
    help=f"PEM file of the public key for the legacy x-wh-signature (default: "
    f"${RSA_ENV}, else GHL's published key).",
)
@click.option("--no-rsa", is_flag=True, help="Refuse deliveries signed only with x-wh-signature.")
@click.option(
    "--set-dnd",
    is_flag=True,
    help="When a contact texts an opt-out, also set SMS DND in GHL (needs GHL_TOKEN and "
    "GHL_LOCATION_ID). The local opt-out is recorded either way.",
)
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Refuse larger deliveries with 413.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read settings from this .env file (default: ./.env).",
)
@click.option("--check", is_flag=True, help="Check the configuration, print it and exit.")
@limit_options(max_connections=1000)
def webhooks(
    host: str,
    port: int,
    ledger_path: Path | None,
    ed25519_keys: tuple[str, ...],
    rsa_keys: tuple[str, ...],
    no_rsa: bool,
    set_dnd: bool,
    max_body_bytes: int,
    env_file: Path | None,
    check: bool,
    limits: ServeLimits,
) -> None:
    """Receive GHL webhooks into the ledger: replies, opt-outs, delivery statuses, DND.

    Point GHL at https://<your host>/webhooks/ghl. A delivery needs a valid signature
    and a fresh timestamp, or it gets 401 and nothing is stored.

    Example: ghl-sms webhooks --ed25519-key ghl-webhook-ed25519.pem --set-dnd
    """
    app_ctx = click.get_current_context().ensure_object(AppContext)
    settings = app_ctx.settings(ledger_path=ledger_path, env_file=env_file)
    environ = {**read_env_file(env_file or Path(".env")), **app_ctx.environ}
    keys, rsa_label = _load_keys(environ, ed25519_keys, rsa_keys, no_rsa)
    if set_dnd and not (settings.token and settings.location_id):
        raise CommandError("--set-dnd needs GHL_TOKEN and GHL_LOCATION_ID.", EXIT_USAGE)

    # Bound before anything is opened: a busy port is one line, and --port 0 is known.
    sock = None if check else _listen(host, port)
    try:
        _describe(host, port, sock, settings, keys, rsa_label, set_dnd, max_body_bytes, check)
        ledger = Ledger.open(settings.database_url or settings.ledger_file, app_ctx.clock)
        try:
            if sock is None:
                return
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
            )
            receiver = _Receiver(app_ctx, settings, ledger, keys, set_dnd, max_body_bytes)
            run_async(lambda: receiver.serve(sock, limits))
        finally:
            ledger.close()
    finally:
        if sock is not None:
            sock.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        return listen(host, port)
    except ListenError as exc:
        raise CommandError(exc.message, EXIT_USAGE) from None


def _describe(
    host: str,
    port: int,
    sock: socket.socket | None,
    settings: Settings,
    keys: WebhookKeys,
    rsa_label: str,
    set_dnd: bool,
    max_body_bytes: int,
    check: bool,
) -> None:
    """The configuration: on stdout with --check, else on stderr beside the logs."""
    shown = f"[{host}]" if ":" in host else host
    base_url = url_of(sock) if sock is not None else f"http://{shown}:{port}"
    ed25519_label = f"{len(keys.ed25519)} key(s)" if keys.ed25519 else "none, such are refused"
    summary = [
        f"ledger: {settings.ledger_file}",
        f"receiving at: {base_url}{WEBHOOK_PATH}",
        f"x-ghl-signature (Ed25519): {ed25519_label}",
        f"x-wh-signature (RSA): {rsa_label}",
        "set DND in GHL on opt-out: "
        + (f"yes, location {settings.location_id}" if set_dnd else "no"),
        f"largest delivery: {max_body_bytes} bytes",
    ]
    for line in summary:
        click.echo(line, err=not check)
    if not keys.ed25519:
        click.echo(
            f"warning: no Ed25519 key (--ed25519-key or {ED25519_ENV}). GHL reportedly stops "
            "sending x-wh-signature on 2026-07-01; after that every delivery would be refused.",
            err=True,
        )


class _Receiver:
    def __init__(
        self,
        app_ctx: AppContext,
        settings: Settings,
        ledger: Ledger,
        keys: WebhookKeys,
        set_dnd: bool,
        max_body_bytes: int,
    ) -> None:
        self.app_ctx = app_ctx
        self.settings = settings
        self.ledger = ledger
        self.keys = keys
        self.set_dnd = set_dnd
        self.max_body_bytes = max_body_bytes

    async def serve(self, sock: socket.socket, limits: ServeLimits) -> None:
        if not self.set_dnd:
            await self._serve(sock, limits, None)
            return
        async with self.app_ctx.client(self.settings) as client:
            await self._serve(sock, limits, _dnd_hook(client))

    async def _serve(
        self, sock: socket.socket, limits: ServeLimits, on_opt_out: OptOutHook | None
    ) -> None:
        app = create_app(
            keys=self.keys,
            ledger=self.ledger,
            events=EventLog(self.ledger.conn, self.app_ctx.clock),
            clock=self.app_ctx.clock,
            on_opt_out=on_opt_out,
            max_body_bytes=self.max_body_bytes,
        )
        server = HttpServer(app, sock, limits=limits, lifespan="on", access_log=True)
        await server.serve()
