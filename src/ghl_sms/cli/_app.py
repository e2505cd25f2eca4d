"""What every command shares: settings, building the service, errors and exit codes."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import click

from ghl_sms._clock import Clock, SystemClock
from ghl_sms._settings import Settings
from ghl_sms.cli._credentials import config_path, merged_environ, resolve_settings
from ghl_sms.cli._errors import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    known_errors,
    translate,
)

# What opens a connection, a ledger or the sandbox is imported by the command that does,
# so `ghl-sms mcp` answers its first tools/list without loading any of it.
if TYPE_CHECKING:
    import httpx2

    from ghl_sms.accounts import TokenManager
    from ghl_sms.ghl import GhlClient
    from ghl_sms.ops.service import SmsService

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "AppContext",
    "CommandError",
    "common_options",
    "connection_options",
    "run_async",
    "several_locations",
    "split_locations",
]

T = TypeVar("T")

_DATA_DIR_SETTING = "set GHL_SMS_DATA_DIR to a folder you can write"


@dataclass
class AppContext:
    """Built once per invocation; tests pass their own (clock, environment, sandbox)."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = field(default_factory=SystemClock)
    sandbox_factory: Callable[[Settings, Clock], Any] | None = None
    """Builds the embedded sandbox for --sandbox; default: a file in the data dir."""
    http_transport: httpx2.AsyncBaseTransport | None = None
    """Replaces the network to GHL (tests); None: the real one."""
    config_file: Path | None = None
    """The sub-accounts config file of this invocation (set from --config and the env)."""
    resolve_location: Callable[[str], Settings] | None = None
    """Settings for another ``--location`` value than the command's own (set by
    ``connection_options``): a command over several sub-accounts resolves each."""
    profile: str | None = None
    """The config profile the command's own token and location id came from (None:
    GHL_TOKEN and GHL_LOCATION_ID); error hints name what to fix by it."""
    _open_sandbox: Any = field(default=None, init=False, repr=False)
    _sandbox_users: int = field(default=0, init=False, repr=False)

    def settings(self, **overrides: Any) -> Settings:
        env_file = overrides.pop("env_file", None)
        try:
            settings = Settings.from_env(self.environ, env_file=env_file)
        except ValueError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
        return settings.with_overrides(**overrides)

    @contextmanager
    def _shared_sandbox(self, settings: Settings) -> Iterator[Any]:
        """The embedded sandbox, one for however many clients use it at once (a bulk
        send to several sub-accounts): it holds its file exclusively."""
        if self._open_sandbox is None:
            self._open_sandbox = self._sandbox(settings)
        self._sandbox_users += 1
        try:
            yield self._open_sandbox
        finally:
            self._sandbox_users -= 1
            if not self._sandbox_users:
                sandbox, self._open_sandbox = self._open_sandbox, None
                sandbox.close()

    def _sandbox(self, settings: Settings) -> Any:
        if self.sandbox_factory is not None:
            return self.sandbox_factory(settings, self.clock)
        import sqlite3

        from ghl_sms.cli._storage import unusable_sandbox_file
        from ghl_sms.sandbox import Sandbox  # imported lazily: only --sandbox runs need it
        from ghl_sms.sandbox.store import SandboxInUseError

        try:
            return Sandbox(db_path=settings.sandbox_file)
        except sqlite3.DatabaseError:
            raise unusable_sandbox_file(settings.sandbox_file) from None
        except SandboxInUseError:
            raise CommandError(
                f"The embedded sandbox ({settings.sandbox_file}) is in use by another "
                "process: a running `ghl-sms sandbox` or `ghl-sms mcp --sandbox`.",
                EXIT_USAGE,
                hint="Use the running sandbox over HTTP (GHL_BASE_URL, GHL_TOKEN and "
                "GHL_LOCATION_ID as `ghl-sms sandbox` prints them, without --sandbox), stop "
                "it, or give this command its own GHL_SMS_DATA_DIR.",
            ) from None

    @asynccontextmanager
    async def client(self, settings: Settings) -> AsyncIterator[GhlClient]:
        from ghl_sms.cli._storage import ensure_folder

        sandbox = None
        with ExitStack() as held:
            if settings.sandbox:
                ensure_folder(settings.data_dir, "the sandbox state", _DATA_DIR_SETTING)
                sandbox = held.enter_context(self._shared_sandbox(settings))
            async with self._client(settings, sandbox) as client:
                yield client

    @asynccontextmanager
    async def _client(self, settings: Settings, sandbox: Any) -> AsyncIterator[GhlClient]:
        from ghl_sms.accounts import TokenManager, TokenStore
        from ghl_sms.ghl import GhlClient

        tokens: TokenManager | None = None
        try:
            if settings.oauth_store is not None:  # a location token of the agency login
                transport = self.http_transport
                base_url = settings.base_url
                if sandbox is not None:
                    transport, base_url = sandbox.transport(), sandbox.base_url
                location_id = _require(settings.location_id, "GHL_LOCATION_ID")
                tokens = TokenManager(
                    TokenStore(settings.oauth_store), clock=self.clock, transport=transport
                )
                client = GhlClient(
                    token_provider=tokens.provider(location_id),
                    location_id=location_id,
                    base_url=base_url,
                    transport=transport,
                    clock=self.clock,
                )
            elif sandbox is not None:
                client = GhlClient(
                    token=sandbox.token,
                    location_id=sandbox.location_id,
                    base_url=sandbox.base_url,
                    transport=sandbox.transport(),
                    clock=self.clock,
                )
            else:
                client = GhlClient(
                    token=_require(
                        settings.token.reveal() if settings.token else None, "GHL_TOKEN"
                    ),
                    location_id=_require(settings.location_id, "GHL_LOCATION_ID"),
                    base_url=settings.base_url,
                    transport=self.http_transport,
                    clock=self.clock,
                )
            async with client:
                yield client
        finally:
            if tokens is not None:
                await tokens.aclose()

    def ledger_path(self, settings: Settings) -> Path:
        # The sandbox reuses its ids after a reset; keep its sends apart from real ones.
        if settings.sandbox and settings.ledger_path is None:
            return settings.data_dir / "sandbox-ledger.db"
        return settings.ledger_file

    @asynccontextmanager
    async def service(self, settings: Settings) -> AsyncIterator[SmsService]:
        import sqlite3

        from ghl_sms.cli._storage import open_ledger, unusable_ledger
        from ghl_sms.ops.service import ServiceConfig, SmsService

        async with self.client(settings) as client:
            path = self.ledger_path(settings)
            setting = (
                "point --ledger (GHL_SMS_LEDGER) at another folder"
                if settings.ledger_path is not None
                else _DATA_DIR_SETTING
            )
            ledger = open_ledger(
                path, self.clock, setting=setting, database_url=settings.database_url
            )
            try:
                try:
                    service = SmsService(
                        client,
                        ledger,
                        clock=self.clock,
                        config=ServiceConfig(
                            default_region=settings.default_region,
                            repeat_window=settings.repeat_window,
                        ),
                    )
                except sqlite3.DatabaseError:  # its event log shares the ledger's file
                    raise unusable_ledger(path) from None
                yield service
            finally:
                ledger.close()


def _require(value: str | None, variable: str) -> str:
    if not value:
        what = (
            "token (a Private Integration Token, pit-...)"
            if "TOKEN" in variable
            else ("sub-account (location) id")
        )
        raise CommandError(
            f"No GHL {what}: set {variable} (in the environment or a .env file), "
            "or add --sandbox to try it against the embedded sandbox.",
            EXIT_USAGE,
        )
    return value


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's async body, turning anticipated errors into exit codes."""
    try:
        return anyio.run(main)
    except known_errors() as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from None


def emit_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


# Keys whose values are moments: ISO strings, epoch seconds (or GHL's epoch ms).
_TIME_KEY = re.compile(r"(_at|^date_added|^date_updated|^now)$")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


def json_time(moment: datetime) -> str:
    """The one timestamp format of the CLI's JSON: ``2026-12-04T17:00:00Z`` (UTC, seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _moment(value: Any) -> datetime | None:
    try:
        if isinstance(value, str) and _ISO_TIME.fullmatch(value):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 100_000_000_000 else value  # GHL's epoch ms
            return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def to_jsonable(value: Any, key: str | None = None) -> Any:
    """JSON-ready data with every timestamp in one format (``json_time``), wherever it
    came from: a model's datetime, an ISO string, or epoch seconds in a ``*_at`` field."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, datetime):
        return json_time(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v, key) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v, str(k)) for k, v in value.items()}
    if key is not None and _TIME_KEY.search(key):
        moment = _moment(value)
        if moment is not None:
            return json_time(moment)
    return value


def connection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--sandbox and the connection overrides; the command gets ``app`` and ``settings``."""
    options = [
        click.option(
            "--sandbox",
            is_flag=True,
            help="Use the embedded GHL sandbox (no account needed; its state persists).",
        ),
        click.option(
            "--location",
            "location_id",
            metavar="NAME|ID",
            multiple=True,  # `bulk send` takes several; every other command one
            help="Sub-account: a profile's name or a location id (default: $GHL_LOCATION_ID, "
            "else the config's default).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Sub-accounts config file (default: $GHL_SMS_CONFIG or "
            "~/.config/ghl-sms/config.toml).",
        ),
        click.option("--base-url", help="API base URL (default: $GHL_BASE_URL or GHL's)."),
        click.option(
            "--ledger",
            "ledger_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Ledger file (default: ledger.db in the data dir, ~/.local/share/ghl-sms).",
        ),
        click.option(
            "--database-url",
            metavar="URL",
            help="postgresql://... keeps the ledger, campaigns and budgets there, shared by "
            "every machine (default: $GHL_SMS_DATABASE_URL, else the ledger file).",
        ),
        click.option(
            "--env-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Read settings from this .env file (default: ./.env).",
        ),
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().ensure_object(AppContext)
        if kwargs["sandbox"] and kwargs["base_url"]:
            raise CommandError(
                "--sandbox and --base-url were both given; the embedded sandbox has its own "
                "location and address.",
                EXIT_USAGE,
                hint="Leave out --base-url to use the sandbox, or --sandbox to use GHL.",
            )
        given = split_locations(kwargs.pop("location_id"))
        env_file = kwargs.pop("env_file")
        config_option = kwargs.pop("config_path")
        database_url = kwargs.pop("database_url")
        settings = app.settings(
            sandbox=kwargs.pop("sandbox") or None,
            base_url=kwargs.pop("base_url"),
            ledger_path=kwargs.pop("ledger_path"),
            database_url=database_url,
            env_file=env_file,
        )
        if settings.sandbox and not database_url:
            # The sandbox's sends stay out of a shared ledger unless asked for on the line.
            settings = settings.with_overrides(database_url="")
        environ = merged_environ(app.environ, env_file)
        app.config_file = config_path(environ, config_option)
        base, config = settings, app.config_file
        app.resolve_location = lambda wanted: resolve_settings(
            base, wanted=wanted, environ=environ, config=config
        )
        if fn in _SEVERAL_LOCATIONS:
            kwargs["locations"] = given
        elif len(given) > 1:
            raise CommandError(
                f"--location names one sub-account here, not {len(given)} ({', '.join(given)}).",
                EXIT_USAGE,
                hint="Run the command once per sub-account (only `bulk send` fans out to several).",
            )
        if fn in _EVERY_LOCATION:  # `mcp` serves them all; --location names the default
            kwargs["default_location"] = given[0] if given else None
            return fn(*args, app=app, settings=settings, **kwargs)
        if kwargs.get("all_locations"):  # `doctor --all` walks every sub-account itself
            if given:
                raise CommandError("--all and --location were both given; pick one.", EXIT_USAGE)
        elif len(given) <= 1:  # several: the command resolves each (resolve_location)
            wanted = given[0] if given else None
            settings = resolve_settings(
                settings, wanted=wanted, environ=environ, config=app.config_file
            )
            app.profile = settings.profile
        return fn(*args, app=app, settings=settings, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


_SEVERAL_LOCATIONS: set[Callable[..., Any]] = set()


def several_locations(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Under ``common_options``: the command's ``--location`` may name several
    sub-accounts (comma-separated or repeated); it gets them as ``locations`` (a tuple,
    empty when none was given). With one or none, ``settings`` are resolved as for any
    command; with several they are not, and ``app.resolve_location`` gives each its own."""
    _SEVERAL_LOCATIONS.add(fn)
    return fn


_EVERY_LOCATION: set[Callable[..., Any]] = set()


def every_location(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Under ``connection_options``: the command serves every configured sub-account and
    resolves them itself; it gets ``default_location`` (``--location``, or None) and
    unresolved ``settings``."""
    _EVERY_LOCATION.add(fn)
    return fn


def split_locations(values: tuple[str, ...] | str | None) -> tuple[str, ...]:
    """``--location A,B --location C`` -> ``("A", "B", "C")``, blanks and repeats dropped."""
    if values is None:
        return ()
    given = [values] if isinstance(values, str) else values
    parts = [part.strip() for value in given for part in value.split(",")]
    return tuple(dict.fromkeys(part for part in parts if part))


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--json plus the connection options, on every command that talks to GHL."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(
        connection_options(fn)
    )
