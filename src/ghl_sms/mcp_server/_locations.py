"""Which sub-account (GHL location) a tool call texts for.

A server texts for one location (``ghl-sms mcp`` with GHL_TOKEN, the sandbox, tests) or
for many: the config file's profiles and the sub-accounts an agency login reaches. Each
tool takes an optional ``location`` (a profile's name, a location id, or the name GHL
gives the sub-account); without it the default is used, and with several and no
default the call is refused, naming the choices, before anything happens.

Each location is opened on first use and kept for the server's lifetime: its own
service (client, token, rate-limit budget) and bulk engine. What they share (the
ledger, the sandbox, the agency login's tokens) opens with the first of them: the
server answers ``tools/list`` before any of it, then warms up (``warm_up``). Sends, opt-outs and
campaigns live in the ledger keyed by location id, so a STOP in one sub-account never
blocks another.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from ghl_sms.accounts._errors import AccountsError
from ghl_sms.ghl import GhlError
from ghl_sms.mcp_server._errors import CALL_CREDENTIALS
from ghl_sms.ops.errors import OpsError, UsageError
from ghl_sms.ops.hints import Credentials

if TYPE_CHECKING:  # a location's service and bulk engine are imported when it opens
    from ghl_sms.mcp_server._bulk import BulkRunner
    from ghl_sms.ops.bulk import BulkEngine
    from ghl_sms.ops.service import SmsService

__all__ = [
    "AgencyAccess",
    "LocationPool",
    "LocationSet",
    "ServiceFactory",
    "Site",
    "SubAccount",
]

logger = logging.getLogger(__name__)

ServiceFactory = Callable[[], AbstractAsyncContextManager["SmsService"]]
"""Opens one location's service for the server's lifetime."""

SHOWN_CHOICES = 12
"""An error naming the choices names at most this many (sms_numbers lists them all)."""


@dataclass(frozen=True)
class SubAccount:
    """A location the server may text for, before it is opened."""

    open: ServiceFactory
    location_id: str | None = None
    """None only on a one-location server, whose service tells its id once opened."""
    name: str | None = None
    """The profile's name: what ``location`` takes besides the id."""
    title: str | None = None
    """GHL's name for the location, when known without asking (the agency's list)."""

    @property
    def key(self) -> str:
        """What to pass as ``location``."""
        return self.name or self.location_id or "?"


@dataclass(frozen=True)
class AgencyAccess:
    """The sub-accounts an agency login reaches: listed on demand, opened by id."""

    installed: Callable[[], Awaitable[Sequence[tuple[str, str]]]]
    """(location id, name) of every sub-account the app is installed on."""
    open: Callable[[str], AbstractAsyncContextManager[SmsService]]


@dataclass(frozen=True)
class LocationSet:
    """What the server texts for: the known sub-accounts, a default, an agency login."""

    accounts: Sequence[SubAccount] = ()
    default: str | None = None
    """A profile name or location id; None: the only location, if there is one."""
    agency: AgencyAccess | None = None
    around: Callable[[], AbstractAsyncContextManager[object]] | None = None
    """Entered once, before the first location opens (or the agency's are listed), for
    the server's lifetime: what they share (the ledger, the sandbox, the agency login's
    TokenManager)."""

    @classmethod
    def single(cls, factory: ServiceFactory) -> LocationSet:
        """One location, whatever the service says it is (today's one-token server)."""
        return cls(accounts=(SubAccount(open=factory),))


@dataclass
class Site:
    """An opened location: what the tools use."""

    location_id: str
    name: str | None
    title: str | None
    service: SmsService
    bulk: BulkEngine
    runner: BulkRunner
    _looked_up: bool = field(default=False, repr=False)

    @property
    def key(self) -> str:
        return self.name or self.location_id

    async def describe(self) -> str:
        """The sub-account for a person: ``downtown: Sandbox Dental (sandboxDemoLocation1)``.
        GHL's name is looked up once; without it (no scope, GHL down) the id alone."""
        if self.title is None and not self._looked_up:
            self._looked_up = True
            try:
                self.title = (await self.service.client.get_location()).name or None
            except GhlError:
                pass  # a confirmation never fails for want of a name
        title = self.title if self.title and self.title != self.name else None
        label = f"{self.name}: {title}" if self.name and title else (self.name or title)
        return f"{label} ({self.location_id})" if label else self.location_id


class LocationPool:
    """The server's locations, opened on first use, closed with the server."""

    def __init__(self, locations: LocationSet, *, stack: AsyncExitStack, tasks: TaskGroup):
        self._set = locations
        self._accounts = list(locations.accounts)
        self._stack = stack
        self._tasks = tasks
        self._sites: dict[str, Site] = {}
        self._lock = anyio.Lock()
        self._shared_lock = anyio.Lock()
        self._shared_open = False
        self._installed: list[tuple[str, str]] | None = None

    @property
    def many(self) -> bool:
        """More than one location is configured (``location`` may matter)."""
        return len(self._accounts) > 1 or self._set.agency is not None

    @property
    def default(self) -> str | None:
        return self._set.default

    async def warm_up(self) -> None:
        """``start`` soon after the server has answered its first ``tools/list``: a server
        that starts fast still resumes the campaigns an earlier one left running without
        waiting for a tool call. A failure is logged; the next tool call meets it again
        and says so."""
        try:
            await self.start()
        except (AccountsError, GhlError, OpsError, OSError) as exc:
            logger.warning("the default sub-account did not open: %s", exc)
        except Exception:  # a bug, but not the server's end: each tool call reports its own
            logger.exception("opening the default sub-account failed")

    async def start(self) -> None:
        """Open a location known only once opened, the default; then every location
        with a campaign left running by an earlier server."""
        await self._learn_ids()
        if self._set.default is not None:
            await self.site(None)
        elif len(self._accounts) == 1 and self._set.agency is None:
            await self.site(None)
        await self._resume_running()

    async def _resume_running(self) -> None:
        from ghl_sms.ops.bulk import CampaignState

        opened = next(iter(self._sites.values()), None)
        if opened is None:
            return  # nothing opened yet; campaigns resume when their location is used
        if opened.runner.queued:
            return  # PostgreSQL: the workers send running campaigns, not this server
        running = {
            c.location_id
            for c in opened.bulk.campaigns()
            if c.state == CampaignState.RUNNING and c.location_id not in self._sites
        }
        for location_id in sorted(running):
            account = self._known(location_id)
            if account is None:
                logger.info("a running campaign's location %s is not configured", location_id)
                continue
            try:
                await self._open(account)
            except (AccountsError, GhlError, UsageError) as exc:
                logger.warning("campaigns of %s wait: %s", location_id, exc)

    def _known(self, location_id: str) -> SubAccount | None:
        for account in self._accounts:
            if account.location_id == location_id:
                return account
        if self._set.agency is not None:
            return self._agency_account(location_id, None)
        return None

    def _agency_account(self, location_id: str, title: str | None) -> SubAccount:
        agency = self._set.agency
        assert agency is not None
        return SubAccount(
            open=lambda: agency.open(location_id), location_id=location_id, title=title
        )

    # --- resolving ``location`` --------------------------------------------------------------

    async def site(self, wanted: str | None) -> Site:
        """The opened location for a tool's ``location`` argument (None: the default)."""
        account = await self.account(wanted)
        # This call's error hints name what to fix: the profile's, else GHL_LOCATION_ID.
        CALL_CREDENTIALS.set(Credentials(profile=account.name, pick="the location argument"))
        return await self._open(account)

    async def _learn_ids(self) -> None:
        """Open the locations known only once opened (the sandbox's demo, a one-location
        server's), so that choosing by id sees them."""
        for account in [a for a in self._accounts if a.location_id is None]:
            await self._open(account)

    async def account(self, wanted: str | None) -> SubAccount:
        await self._learn_ids()
        wanted = wanted.strip() if wanted else None
        if not wanted:
            wanted = self._set.default
        if not wanted:
            return await self._only_one()
        found = self._find(wanted)
        if found is not None:
            return found
        if self._set.agency is not None:
            for fresh in (False, True):  # listed again once: installed since we looked?
                installed = await self._agency_list(fresh=fresh)
                if installed is None:  # the list is out of reach: take it as an id
                    return self._agency_account(wanted, None)
                for location_id, title in installed:
                    if wanted in (location_id, title) or wanted.casefold() == title.casefold():
                        return self._agency_account(location_id, title)
        raise UsageError(
            f"No sub-account {wanted!r} on this server. {await self._choices()} Pass one of "
            "those as location (sms_numbers lists them); nothing was done."
        )

    def _find(self, wanted: str) -> SubAccount | None:
        for account in self._accounts:
            if wanted == account.name:
                return account
        for account in self._accounts:
            if wanted == account.location_id:
                return account
        return None

    async def _only_one(self) -> SubAccount:
        if len(self._accounts) == 1 and self._set.agency is None:
            return self._accounts[0]
        if not self._accounts and self._set.agency is not None:
            installed = await self._agency_list()
            if installed is not None and len(installed) == 1:
                return self._agency_account(*installed[0])
        raise UsageError(
            f"Which sub-account? {await self._choices()} Call again with location set to "
            "one of them (sms_numbers lists them with their numbers); nothing was done."
        )

    async def choices(self) -> list[SubAccount]:
        """Every location this server can text for (the agency's, when it can list them)."""
        await self._learn_ids()
        found = list(self._accounts)
        known = {a.location_id for a in found}
        if self._set.agency is not None:
            for location_id, title in await self._agency_list() or ():
                if location_id not in known:
                    found.append(self._agency_account(location_id, title))
        return found

    async def _choices(self) -> str:
        listed = await self.choices()
        if not listed:
            return "The agency login's sub-accounts could not be listed: pass a location id."
        names = [
            f"{a.key} ({a.title or a.location_id})" if a.name or a.title else a.key
            for a in listed[:SHOWN_CHOICES]
        ]
        more = f" and {len(listed) - SHOWN_CHOICES} more" if len(listed) > SHOWN_CHOICES else ""
        return f"This server texts for {len(listed)}: {', '.join(names)}{more}."

    async def _agency_list(self, *, fresh: bool = False) -> list[tuple[str, str]] | None:
        """The agency's installed sub-accounts, listed once (again if ``fresh``); None
        when GHL won't say."""
        agency = self._set.agency
        if agency is None:
            return None
        if self._installed is None or fresh:
            try:
                await self._open_shared()
                self._installed = list(await agency.installed())
            except (AccountsError, GhlError) as exc:
                logger.warning("the agency login's sub-accounts could not be listed: %s", exc)
                return None
        return self._installed

    # --- opening ----------------------------------------------------------------------------

    async def _open_shared(self) -> None:
        if self._shared_open or self._set.around is None:
            return
        async with self._shared_lock:
            if not self._shared_open:
                await self._stack.enter_async_context(self._set.around())
                self._shared_open = True

    def _current(self, account: SubAccount) -> SubAccount:
        """The account as known now: a one-location server's learns its id on opening."""
        if account.location_id is None:
            for known in self._accounts:
                if known.open is account.open:
                    return known
        return account

    async def _open(self, account: SubAccount) -> Site:
        from ghl_sms.mcp_server._bulk import BulkRunner, bulk_engine

        await self._open_shared()
        async with self._lock:
            account = self._current(account)
            if account.location_id is not None and account.location_id in self._sites:
                return self._sites[account.location_id]
            service = await self._stack.enter_async_context(account.open())
            if account.location_id is None and account in self._accounts:
                self._accounts[self._accounts.index(account)] = SubAccount(
                    open=account.open, location_id=service.location_id, name=account.name
                )
            if service.location_id in self._sites:  # a one-location server, asked by id
                return self._sites[service.location_id]
            engine = await self._stack.enter_async_context(bulk_engine(service))
            runner = BulkRunner(engine, service.location_id, self._tasks)
            runner.kick()  # campaigns a previous server left running carry on
            site = Site(service.location_id, account.name, account.title, service, engine, runner)
            self._sites[service.location_id] = site
            return site

    def opened(self) -> list[Site]:
        return list(self._sites.values())

    def redact(self, text: str) -> str:
        """``text`` without any token of any opened location."""
        for site in self._sites.values():
            text = site.service.client.redact(text)
        return text
