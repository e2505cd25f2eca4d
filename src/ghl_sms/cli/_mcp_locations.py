"""The sub-accounts ``ghl-sms mcp`` texts for: one server for all of them.

Every profile of the config file (its own token), GHL_LOCATION_ID with GHL_TOKEN (as
before profiles existed), and, once `ghl-sms login` has run, every sub-account the
agency login reaches (a location token each, minted on demand by one TokenManager).
``--location`` (else GHL_LOCATION_ID, else the config's default) picks the default; a
tool's own ``location`` picks another. ``--sandbox`` serves the demo location, plus the
sandbox agency's sub-accounts after `ghl-sms login --sandbox`.

One ledger for all of them (sends, opt-outs and campaigns are keyed by location), one
sandbox and one TokenManager per process, opened with the first location; each
location's client is opened when a tool first names it. Until then nothing here is
imported but the config file's reader: the server answers tools/list first.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ghl_sms._settings import Secret, Settings
from ghl_sms.accounts import SystemKeyring, TokenStore
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError
from ghl_sms.cli._credentials import load_config, merged_environ, oauth_store_path
from ghl_sms.mcp_server.server import AgencyAccess, LocationSet, SubAccount
from ghl_sms.ops.errors import OpsError

if TYPE_CHECKING:
    from ghl_sms.accounts import AccountsConfig, TokenManager
    from ghl_sms.ghl import GhlClient
    from ghl_sms.ops.ledger import Ledger
    from ghl_sms.ops.service import SmsService

__all__ = ["mcp_locations"]

_DATA_DIR_SETTING = "set GHL_SMS_DATA_DIR to a folder you can write"

Opened = AbstractAsyncContextManager["SmsService"]
TokenSource = Callable[[], Secret]
"""A profile's token, read when its location is first used (a missing one fails that
location's calls, not the server)."""


@dataclass
class _Shared:
    """What every location of the server shares, open for the server's lifetime."""

    app: AppContext
    settings: Settings
    store: TokenStore | None
    sandbox: Any = None
    ledger: Ledger | None = None
    tokens: TokenManager | None = None

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[None]:
        """The sandbox, the ledger and the agency's TokenManager. Entered by the first
        tool call that needs a location, so a problem is that call's error (an OpsError,
        which the tools report as it is), not a server that never starts."""
        try:
            async with self._opened():
                yield
        except CommandError as exc:  # the CLI's own words: a busy sandbox, a bad ledger
            raise OpsError(" ".join(filter(None, (exc.message, exc.hint)))) from None

    @asynccontextmanager
    async def _opened(self) -> AsyncIterator[None]:
        from ghl_sms.accounts import TokenManager
        from ghl_sms.cli._storage import ensure_folder, open_ledger

        if self.settings.sandbox:
            ensure_folder(self.settings.data_dir, "the sandbox state", _DATA_DIR_SETTING)
            self.sandbox = self.app._sandbox(self.settings)
        try:
            path = self.app.ledger_path(self.settings)
            setting = (
                "point --ledger (GHL_SMS_LEDGER) at another folder"
                if self.settings.ledger_path is not None
                else _DATA_DIR_SETTING
            )
            self.ledger = open_ledger(
                path, self.app.clock, setting=setting, database_url=self.settings.database_url
            )
            try:
                if self.store is not None:
                    self.tokens = TokenManager(
                        self.store, clock=self.app.clock, transport=self._transport()
                    )
                yield
            finally:
                if self.tokens is not None:
                    await self.tokens.aclose()
                self.ledger.close()
        finally:
            if self.sandbox is not None:
                self.sandbox.close()

    def _transport(self) -> Any:
        return self.sandbox.transport() if self.sandbox is not None else self.app.http_transport

    def _client(self, location_id: str, **auth: Any) -> GhlClient:
        from ghl_sms.ghl import GhlClient

        base_url = self.sandbox.base_url if self.sandbox is not None else self.settings.base_url
        return GhlClient(
            location_id=location_id,
            base_url=base_url,
            transport=self._transport(),
            clock=self.app.clock,
            rng=random.Random(),
            **auth,
        )

    @asynccontextmanager
    async def _service(self, client: GhlClient) -> AsyncIterator[SmsService]:
        import sqlite3

        from ghl_sms.cli._storage import unusable_ledger
        from ghl_sms.ops.service import ServiceConfig, SmsService

        assert self.ledger is not None  # opened() runs first
        async with client:
            try:
                service = SmsService(
                    client,
                    self.ledger,
                    clock=self.app.clock,
                    config=ServiceConfig(
                        default_region=self.settings.default_region,
                        repeat_window=self.settings.repeat_window,
                    ),
                )
            except sqlite3.DatabaseError:  # its event log shares the ledger's file
                raise unusable_ledger(self.app.ledger_path(self.settings)) from None
            yield service

    def with_token(self, location_id: str, token: TokenSource) -> Opened:
        return self._service(self._client(location_id, token=token().reveal()))

    def demo(self) -> Opened:
        """The sandbox's demo location, with its own token."""
        sandbox = self.sandbox
        return self._service(self._client(sandbox.location_id, token=sandbox.token))

    def agency(self, location_id: str) -> Opened:
        assert self.tokens is not None
        provider = self.tokens.provider(location_id)
        return self._service(self._client(location_id, token_provider=provider))

    async def installed(self) -> list[tuple[str, str]]:
        assert self.tokens is not None
        return [(loc.id, loc.name) for loc in await self.tokens.installed_locations()]


def mcp_locations(
    app: AppContext, settings: Settings, *, wanted: str | None, config: Path
) -> LocationSet:
    """Every sub-account the server may text for; refuses a setup that names none."""
    store = TokenStore(oauth_store_path(settings))
    shared = _Shared(app, settings, store if store.exists() else None)
    agency = (
        AgencyAccess(installed=shared.installed, open=shared.agency) if store.exists() else None
    )
    wanted = wanted.strip() if wanted else None
    if settings.sandbox:
        if wanted and agency is None:
            raise CommandError(
                "--sandbox and --location were both given; the embedded sandbox has its own "
                "location and address.",
                EXIT_USAGE,
                hint="Leave out --location to use the sandbox, or log in to the sandbox's "
                "agency with `ghl-sms login --sandbox` to serve its sub-accounts too.",
            )
        demo = SubAccount(open=shared.demo)
        from ghl_sms.sandbox import DEMO_LOCATION_ID

        default = wanted or (DEMO_LOCATION_ID if agency is not None else None)
        return LocationSet(accounts=(demo,), default=default, agency=agency, around=shared.opened)

    accounts = _profiles(shared, load_config(config), merged_environ(app.environ, None))
    if settings.location_id and settings.token:  # GHL_LOCATION_ID + GHL_TOKEN, as ever
        env_id, env_token = settings.location_id, settings.token
        env = SubAccount(
            open=lambda: shared.with_token(env_id, lambda: env_token), location_id=env_id
        )
        same = [a for a in accounts if a.location_id == env.location_id]
        # The environment's token wins for its location, as with --location.
        accounts = [a for a in accounts if a not in same] + [
            replace(env, name=same[0].name if same else None)
        ]
    if not accounts and agency is None:
        missing = "GHL_LOCATION_ID" if settings.token else "GHL_TOKEN and GHL_LOCATION_ID"
        raise CommandError(
            f"{missing} not set: set {'it' if settings.token else 'them'} in the environment "
            "(or the MCP client's env block, or a .env file), add sub-accounts with `ghl-sms "
            "locations add` or log in with `ghl-sms login`; or add --sandbox to try it "
            "against the embedded sandbox.",
            EXIT_USAGE,
        )
    default = wanted or settings.location_id or _config_default(config)
    if default and agency is None:
        known = {a.name for a in accounts} | {a.location_id for a in accounts}
        if default not in known:
            names = ", ".join(sorted(str(a.name or a.location_id) for a in accounts))
            raise CommandError(
                f"No sub-account {default!r} is configured (configured: {names}).",
                EXIT_USAGE,
                hint="`ghl-sms locations` lists them; add one with `ghl-sms locations add`.",
            )
    return LocationSet(
        accounts=tuple(accounts), default=default, agency=agency, around=shared.opened
    )


def _profiles(shared: _Shared, config: AccountsConfig, environ: dict[str, str]) -> list[SubAccount]:
    vault = SystemKeyring()
    return [
        SubAccount(
            open=functools.partial(
                shared.with_token,
                profile.location_id,
                functools.partial(profile.resolve_token, environ, vault),
            ),
            location_id=profile.location_id,
            name=profile.name,
        )
        for profile in config.profiles.values()
    ]


def _config_default(config: Path) -> str | None:
    return load_config(config).default
