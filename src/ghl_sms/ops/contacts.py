"""Finding people to text: search the location's contacts, show one with what texting needs.

GHL's contact search (``POST /contacts/search``) finds by free text, tag and email, but
its results omit DND and its phone filter finds nothing; so an exact number goes through
the duplicate lookup, and each contact of a small page is read once more
(``GET /contacts/{id}``) for its SMS DND state. Every request goes through the client,
which paces them within GHL's limits. Whether ghl-sms holds a local opt-out comes from
the ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict

from ghl_sms.ghl import Contact, GhlClient, InvalidRequestError, NotFoundError
from ghl_sms.ops._service_base import is_not_found
from ghl_sms.ops.errors import PhoneGivenAsContact, RecipientNotFound, UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.templates import contact_fields, normalize_name
from ghl_sms.rules.phones import PhoneInfo, PhoneNumberError, looks_like_phone, parse_phone
from ghl_sms.rules.quiet_hours import recipient_time

__all__ = [
    "DEFAULT_LIMIT",
    "DND_LOOKUP_LIMIT",
    "MAX_LIMIT",
    "ContactCustomField",
    "ContactDetail",
    "ContactDirectory",
    "ContactSearchPage",
    "ContactSummary",
    "DndChannelState",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DND_LOOKUP_LIMIT = 20
"""Pages up to this size get each contact's SMS DND (one GET per contact); larger pages
say "unknown" rather than spend a request per row."""
_QUERY_MAX = 75  # GHL refuses longer search texts
_PARALLEL_LOOKUPS = 4  # the client's pacer still spaces them within GHL's limits


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ContactSummary(_Out):
    """One contact in a search result."""

    id: str
    name: str
    phone: str | None
    """E.164 (``+14155550102``), or None when the contact has no phone."""
    email: str | None = None
    tags: list[str] = []
    sms_dnd: bool | None
    """GHL refuses SMS to them (DND on, for SMS or globally). None: not looked up
    (search results omit DND; ``show`` always has it)."""
    opted_out: bool
    """ghl-sms holds a local opt-out (a STOP reply, carrier opt-out or one added by hand):
    sends to them are refused."""
    opt_out_source: str | None = None


class ContactSearchPage(_Out):
    contacts: list[ContactSummary]
    total: int
    """How many contacts match in all (GHL's count), not just this page."""
    next_cursor: str | None = None
    """Pass back as ``cursor`` (with the same criteria) for the next page."""
    dnd_checked: bool
    """Whether ``sms_dnd`` was looked up for every contact on this page."""
    matched_by: Literal["search", "phone"]
    """``phone``: an exact number, found with GHL's duplicate lookup (at most one)."""


class DndChannelState(_Out):
    status: str
    """``active``, ``inactive`` or ``permanent`` (cleared only by the contact's START)."""
    message: str | None = None
    code: str | None = None


class ContactCustomField(_Out):
    id: str
    value: Any = None
    template_field: str
    """The merge field that fills it in a template: ``{custom.<id>}``."""


class ContactDetail(_Out):
    """One contact with the fields texting cares about."""

    id: str
    name: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None
    """E.164, or None when the contact has no phone (it cannot be texted)."""
    email: str | None = None
    company_name: str | None = None
    timezone: str | None = None
    """The contact's own time zone, as GHL holds it."""
    city: str | None = None
    state: str | None = None
    country: str | None = None
    quiet_hours_zones: list[str] = []
    """The zones quiet hours are judged in for them: their time zone, else their number's.
    Empty: unknown here (a send falls back to the location's zone)."""
    quiet_hours_zone_source: str | None = None
    """Where ``quiet_hours_zones`` come from: ``contact`` or ``number``."""
    tags: list[str] = []
    dnd: bool
    """GHL's global DND flag (blocks every channel)."""
    sms_dnd: bool
    """GHL refuses SMS to them: global DND, or SMS DND active or permanent."""
    dnd_channels: dict[str, DndChannelState] = {}
    """DND per channel as GHL reports it (``SMS``, ``Email``, ``Call``, ``WhatsApp``...)."""
    custom_fields: list[ContactCustomField] = []
    merge_fields: dict[str, str] = {}
    """What templates can use for them: field name -> value (``first_name``...)."""
    opted_out: bool
    opt_out_source: str | None = None
    opted_out_at: datetime | None = None
    source: str | None = None
    date_added: datetime | None = None


class ContactDirectory:
    """Search the location's contacts and show one; reads only, never changes GHL.

    ``SmsService.contacts`` builds one over the service's client and ledger.
    """

    def __init__(self, client: GhlClient, ledger: Ledger, *, default_region: str = "US") -> None:
        self.client = client
        self.ledger = ledger
        self.default_region = default_region
        self.location_id = client.location_id

    async def search(
        self,
        query: str | None = None,
        *,
        tag: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        check_dnd: bool | None = None,
    ) -> ContactSearchPage:
        """Contacts matching every criterion given (none: all, in GHL's order).

        ``query`` is free text over names, email and phone; one that is a phone number
        is looked up exactly, like ``phone``. ``limit`` defaults to 20 (at most 100), or
        to the cursor's own page size. ``check_dnd``: None looks up SMS DND for pages of
        up to 20 contacts, True always, False never.
        """
        text = _clean_query(query)
        tag = _clean(tag, "tag")
        email = _clean(email, "email")
        if email is not None and "@" not in email:
            raise UsageError(f"{email!r} is not an email address.")
        page, page_limit = _page_of(cursor, limit)
        number = self._phone(phone) if phone is not None else None
        if number is None and text is not None and looks_like_phone(text):
            number = self._phone_or_none(text)
            text = None if number is not None else text
        if number is not None:
            if cursor is not None:
                raise UsageError(
                    "A phone number finds at most one contact, so there is no next page; "
                    "leave out the cursor."
                )
            contacts = await self._by_phone(number, text=text, tag=tag, email=email)
            return await self._page(contacts, len(contacts), None, check_dnd, "phone")
        found = await self.client.search_contacts(
            query=text, tag=tag, email=email, page=page, page_limit=page_limit
        )
        more = len(found.contacts) == page_limit and page * page_limit < found.total
        next_cursor = f"{page + 1}:{page_limit}" if more else None
        return await self._page(found.contacts, found.total, next_cursor, check_dnd, "search")

    async def show(self, contact_id: str) -> ContactDetail:
        """One contact, read fresh from GHL (with DND), and our local opt-out."""
        wanted = (contact_id or "").strip()
        if not wanted:
            raise UsageError("The contact id is empty; search for the contact to get its id.")
        if looks_like_phone(wanted):
            raise PhoneGivenAsContact(
                wanted, instead="search by phone to find the contact and its id."
            )
        try:
            contact = await self.client.get_contact(wanted)
        except (NotFoundError, InvalidRequestError) as exc:
            if not is_not_found(exc):
                raise
            raise RecipientNotFound(
                f"No contact {wanted!r} in this location; search by name, phone or email "
                "to find the right id."
            ) from None
        return self._detail(contact)

    # --- the pieces ---------------------------------------------------------------------

    def _phone(self, raw: str) -> PhoneInfo:
        try:
            return parse_phone(raw, self.default_region)
        except PhoneNumberError as exc:
            raise UsageError(f"The phone number to look up is not usable: {exc}") from None

    def _phone_or_none(self, raw: str) -> PhoneInfo | None:
        try:
            return parse_phone(raw, self.default_region)
        except PhoneNumberError:
            return None  # a partial number: GHL's free text may still find it

    async def _by_phone(
        self, number: PhoneInfo, *, text: str | None, tag: str | None, email: str | None
    ) -> list[Contact]:
        found = await self.client.find_contact_by_phone(number.e164)
        if found is None:
            return []
        # The lookup takes no other criteria: the rest apply to the one contact found.
        if tag is not None and tag.lower() not in {t.lower() for t in found.tags}:
            return []
        if email is not None and (found.email or "").lower() != email.lower():
            return []
        if text is not None and not self._mentions(found, text):
            return []
        return [found]

    async def _page(
        self,
        contacts: list[Contact],
        total: int,
        next_cursor: str | None,
        check_dnd: bool | None,
        matched_by: Literal["search", "phone"],
    ) -> ContactSearchPage:
        look_up = len(contacts) <= DND_LOOKUP_LIMIT if check_dnd is None else check_dnd
        fresh: list[Contact | None] = [None] * len(contacts)
        if look_up and contacts:
            fresh = await self._read_each(contacts)
        return ContactSearchPage(
            contacts=[self._summary(c, f) for c, f in zip(contacts, fresh, strict=True)],
            total=total,
            next_cursor=next_cursor,
            dnd_checked=look_up and all(f is not None for f in fresh),
            matched_by=matched_by,
        )

    async def _read_each(self, contacts: list[Contact]) -> list[Contact | None]:
        """Each contact read by id (search results omit DND); None for one gone since."""
        fresh: list[Contact | None] = [None] * len(contacts)
        limiter = anyio.CapacityLimiter(_PARALLEL_LOOKUPS)

        async def read(index: int, contact_id: str) -> None:
            async with limiter:
                try:
                    fresh[index] = await self.client.get_contact(contact_id)
                except (NotFoundError, InvalidRequestError) as exc:
                    if not is_not_found(exc):
                        raise

        async with anyio.create_task_group() as group:
            for index, contact in enumerate(contacts):
                group.start_soon(read, index, contact.id)
        return fresh

    def _summary(self, listed: Contact, fresh: Contact | None) -> ContactSummary:
        contact = fresh or listed
        phone = self._e164(contact.phone)
        opt_out = self.ledger.opt_out_for(self.location_id, phone=phone, contact_id=contact.id)
        return ContactSummary(
            id=contact.id,
            name=contact.display_name,
            phone=phone,
            email=contact.email,
            tags=contact.tags,
            sms_dnd=contact.sms_dnd if fresh is not None else None,
            opted_out=opt_out is not None,
            opt_out_source=opt_out.source if opt_out else None,
        )

    def _detail(self, contact: Contact) -> ContactDetail:
        phone = self._e164(contact.phone)
        info = self._phone_or_none(phone) if phone else None
        where = recipient_time(
            contact_timezone=contact.timezone,
            contact_state=contact.state,
            contact_country=contact.country,
            phone=info,
        )
        opt_out = self.ledger.opt_out_for(self.location_id, phone=phone, contact_id=contact.id)
        channels: dict[str, DndChannelState] = {}
        if contact.dnd_settings is not None:
            wire = contact.dnd_settings.to_wire()
            for name, setting in wire.items():
                if isinstance(setting, dict) and isinstance(setting.get("status"), str):
                    channels[name] = DndChannelState.model_validate(setting)
        return ContactDetail(
            id=contact.id,
            name=contact.display_name,
            first_name=contact.first_name,
            last_name=contact.last_name,
            phone=phone,
            email=contact.email,
            company_name=contact.company_name,
            timezone=contact.timezone,
            city=contact.city,
            state=contact.state,
            country=contact.country,
            quiet_hours_zones=list(where.zones),
            quiet_hours_zone_source=where.zone_source,
            tags=contact.tags,
            dnd=contact.dnd,
            sms_dnd=contact.sms_dnd,
            dnd_channels=channels,
            custom_fields=[
                ContactCustomField(
                    id=f.id, value=f.value, template_field=f"custom.{normalize_name(f.id)}"
                )
                for f in contact.custom_fields
            ],
            merge_fields=contact_fields(contact),
            opted_out=opt_out is not None,
            opt_out_source=opt_out.source if opt_out else None,
            opted_out_at=datetime.fromtimestamp(opt_out.created_at, UTC) if opt_out else None,
            source=contact.source,
            date_added=contact.date_added,
        )

    def _mentions(self, contact: Contact, text: str) -> bool:
        """Whether free text fits a contact, as GHL's search would: a name, an email, or
        (written any way) its number."""
        if looks_like_phone(text):
            number = self._phone_or_none(text)
            return number is not None and number.e164 == self._e164(contact.phone)
        needle = text.lower()
        fields = (contact.display_name, contact.first_name, contact.last_name, contact.email)
        return any(needle in (f or "").lower() for f in fields)

    def _e164(self, phone: str | None) -> str | None:
        if not phone:
            return None
        info = self._phone_or_none(phone)
        return info.e164 if info else phone  # GHL's own text beats hiding the number


def _clean(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise UsageError(f"The {what} to search for is empty; leave it out to search without.")
    return text


def _clean_query(query: str | None) -> str | None:
    text = _clean(query, "search text")
    if text is not None and len(text) > _QUERY_MAX:
        raise UsageError(
            f"The search text is {len(text)} characters; GHL searches at most {_QUERY_MAX}. "
            "Use a name, an email or a number."
        )
    return text


def _page_of(cursor: str | None, limit: int | None) -> tuple[int, int]:
    """(page, page size) from a cursor this module issued and the limit asked for."""
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"The limit must be between 1 and {MAX_LIMIT} (got {limit}).")
    if cursor is None:
        return 1, limit or DEFAULT_LIMIT
    page_text, _, size_text = cursor.strip().partition(":")
    if not (page_text.isdigit() and size_text.isdigit() and int(page_text) > 1):
        raise UsageError(
            f"{cursor!r} is not a contacts cursor; pass the next_cursor a search printed."
        )
    page, size = int(page_text), int(size_text)
    if not 1 <= size <= MAX_LIMIT:
        raise UsageError(f"{cursor!r} is not a contacts cursor; pass the one a search printed.")
    if limit is not None and limit != size:
        raise UsageError(
            f"That cursor pages {size} contacts at a time; use the same limit ({size}) with "
            "it, or leave the limit out."
        )
    return page, size
