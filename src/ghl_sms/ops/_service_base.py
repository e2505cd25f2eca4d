"""What every operation of the service shares: its configuration and its lookups.

The sender numbers and the location's time zone are looked up once per service; a
contact and a conversation by id answer ``RecipientNotFound`` when GHL has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from ghl_sms._clock import Clock
from ghl_sms.ghl import (
    AuthenticationError,
    Contact,
    ConversationDetail,
    GhlClient,
    GhlError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PhoneNumber,
    RateLimits,
    RequestPacer,
    SlidingWindowPacer,
)
from ghl_sms.ops.errors import (
    PhoneGivenAsContact,
    RecipientNotFound,
    SenderNotAvailable,
    UsageError,
)
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.rules.carrier_errors import lookup as lookup_error_code
from ghl_sms.rules.phones import PhoneNumberError, looks_like_phone, parse_phone

if TYPE_CHECKING:
    from ghl_sms.ops.contacts import ContactDirectory

__all__ = ["FINAL_STATUSES", "ServiceBase", "ServiceConfig", "explain_failure", "is_not_found"]

FINAL_STATUSES = frozenset({"delivered", "failed", "undelivered", "read", "cancelled", "opt_out"})


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """What a service assumes: the default region, the repeat guard, prices, reconciling."""

    default_region: str = "US"
    repeat_window: float = 600.0
    """The same text to the same recipient within this many seconds is refused."""
    sms_price_per_segment: float = 0.0079
    mms_price: float = 0.0200
    """LC Phone list prices (USD, US), excluding carrier fees; only used for estimates."""
    reconcile_delay: float = 2.0
    """Seconds to let GHL store a message before looking for it after a lost answer."""
    reconcile_lookback: float = 300.0
    """How far before our own record a found message may be dated (clock skew)."""
    many_segments: int = 3
    shared_budget: bool = True
    """Every GHL request claims the location's request budget in the ledger's database,
    the one its campaigns' pumps claim from (in every process sharing that database), so
    a person texting during a campaign never pushes the location over GHL's limit. Off:
    the client's own pacer paces this process alone."""


def explain_failure(
    status: str | None, code: str | None, detail: str | None
) -> tuple[str | None, str | None]:
    """What a failed delivery means and what to do, from the carrier error table."""
    if status not in ("failed", "undelivered"):
        return None, None
    entry = lookup_error_code(code)
    if entry is not None:
        return f"{entry.title} ({entry.code}): {entry.meaning}.", entry.advice
    explanation = (
        f"Delivery failed{f' with error {code}' if code else ''}{f': {detail}' if detail else ''}."
    )
    return explanation, "Check the number and the sending number in GHL, then try again."


def is_not_found(error: GhlError) -> bool:
    """GHL answers some unknown ids with 400 "... not found" rather than a 404."""
    return isinstance(error, NotFoundError) or "not found" in " ".join(error.messages).lower()


def _budget_pacer(
    client: GhlClient, ledger: Ledger, clock: Clock, limits: RateLimits
) -> RequestPacer:
    # Imported here: the bulk package imports the service.
    from ghl_sms.ops.bulk.budget import BudgetPacer
    from ghl_sms.ops.storage import request_budget_key, shared_budget

    budget = shared_budget(ledger.conn, clock)
    key = request_budget_key(client.location_id)
    return BudgetPacer(budget, key, clock, limits, spread=False)


class ServiceBase:
    """The service's state and the lookups its operations share."""

    def __init__(
        self,
        client: GhlClient,
        ledger: Ledger,
        *,
        clock: Clock,
        config: ServiceConfig | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.clock = clock
        self.config = config or ServiceConfig()
        self.location_id = client.location_id
        self.events = EventLog(ledger.conn, clock)
        if self.config.shared_budget and isinstance(client.pacer, SlidingWindowPacer):
            client.pacer = _budget_pacer(client, ledger, clock, client.pacer.limits)
        self._numbers: list[PhoneNumber] | None = None
        self._location_timezone: str | None | bool = False  # False: not looked up yet
        self._lookups = anyio.Lock()  # concurrent sends (bulk workers) look these up once

    @property
    def contacts(self) -> ContactDirectory:
        """Search the location's contacts and show one (``ghl-sms contacts``)."""
        from ghl_sms.ops.contacts import ContactDirectory  # it imports this module

        return ContactDirectory(self.client, self.ledger, default_region=self.config.default_region)

    # --- lookups shared by the operations -------------------------------------------------

    async def sender_numbers(self, *, refresh: bool = False) -> list[PhoneNumber]:
        async with self._lookups:
            if self._numbers is None or refresh:
                try:
                    self._numbers = (await self.client.list_phone_numbers()).numbers
                except NotFoundError:
                    self._numbers = []  # "Phone system is not connected to this account"
            return self._numbers

    async def _location_tz(self) -> str | None:
        async with self._lookups:
            if self._location_timezone is False:
                try:
                    self._location_timezone = (await self.client.get_location()).timezone
                except (AuthenticationError, PermissionDeniedError, NotFoundError):
                    self._location_timezone = None  # no locations.readonly scope: no fallback
        return self._location_timezone if isinstance(self._location_timezone, str) else None

    async def _sender(self, from_number: str | None) -> PhoneNumber | None:
        numbers = await self.sender_numbers()
        if from_number:
            try:
                wanted = parse_phone(from_number, self.config.default_region).e164
            except PhoneNumberError as exc:
                raise UsageError(f"The sending number is invalid: {exc}") from None
            for number in numbers:
                if number.phone_number == wanted:
                    return number
            options = ", ".join(n.phone_number for n in numbers if n.capabilities.sms) or "none"
            raise SenderNotAvailable(
                f"{wanted} is not one of this location's SMS numbers (available: {options}); "
                "pick one of those, or leave the sender out to use the default."
            )
        default = next((n for n in numbers if n.is_default_number), None)
        return default or next((n for n in numbers if n.capabilities.sms), None)

    async def _contact(self, contact_id: str) -> Contact:
        if looks_like_phone(contact_id):  # GHL would only say "not found"
            raise PhoneGivenAsContact(
                contact_id, instead="use --to for a number (to_number over MCP)."
            )
        try:
            return await self.client.get_contact(contact_id)
        except (NotFoundError, InvalidRequestError) as exc:
            if not is_not_found(exc):
                raise
            raise RecipientNotFound(
                f"No contact {contact_id!r} in this location; check the id, or send to a "
                "phone number instead."
            ) from None

    async def _contact_by_phone(self, e164: str) -> Contact | None:
        found = await self.client.find_contact_by_phone(e164)
        # Search results don't carry DND reliably; only GET /contacts/{id} does.
        return await self.client.get_contact(found.id) if found else None

    async def _conversation_of(self, contact_id: str) -> str | None:
        page = await self.client.search_conversations(contact_id=contact_id, limit=5)
        for conversation in page.conversations:
            if conversation.contact_id in (None, contact_id):
                return conversation.id
        return None

    def _opted_out(self, contact: Contact | None, e164: str | None) -> bool:
        return (
            self.ledger.opt_out_for(
                self.location_id, phone=e164, contact_id=contact.id if contact else None
            )
            is not None
        )

    async def _conversation(self, conversation_id: str) -> ConversationDetail:
        try:
            return await self.client.get_conversation(conversation_id)
        except (NotFoundError, InvalidRequestError) as exc:
            if not is_not_found(exc):
                raise
            raise RecipientNotFound(
                f"No conversation {conversation_id!r} in this location."
            ) from None
