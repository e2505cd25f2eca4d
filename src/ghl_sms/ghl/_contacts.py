"""The contacts endpoints: read one (with DND), find by phone, search and page,
upsert, set DND."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

from ghl_sms.ghl._calls import ApiCaller, seg, unwrap
from ghl_sms.ghl._models import Contact, ContactPage, UpsertContactResult

__all__ = ["ContactsApi"]


class ContactsApi(ApiCaller):
    """``/contacts/...`` for the client's location."""

    async def get_contact(self, contact_id: str) -> Contact:
        """A contact with its DND state (only this endpoint returns DND reliably)."""
        path = f"/contacts/{seg(contact_id)}"
        data = await self._call("GET", path, module="contacts")
        return self._parse(Contact, unwrap(data, "contact"), "GET", path)

    async def find_contact_by_phone(self, phone: str) -> Contact | None:
        """The location's contact with this phone number (E.164), or None."""
        path = "/contacts/search/duplicate"
        params = {"locationId": self.location_id, "number": phone}
        data = await self._call("GET", path, module="contacts", params=params)
        found = data.get("contact") if isinstance(data, dict) else None
        if not found:
            return None
        return self._parse(Contact, found, "GET", path)

    async def search_contacts(
        self,
        *,
        tag: str | None = None,
        query: str | None = None,
        email: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        page: int = 1,
        page_limit: int = 100,
        search_after: Sequence[Any] | None = None,
    ) -> ContactPage:
        """One page of the location's contacts (``POST /contacts/search``).

        ``query`` is GHL's free text (names, email, phone); ``tag`` and ``email`` become
        filters, ANDed with any raw ``filters`` (``{field, operator, value}``). Pages are
        ``page``/``page_limit`` (GHL stops at 10,000 results), or, past that, the last
        contact's ``search_after`` (then ``page`` is not sent). The phone filter finds
        nothing live: look a number up with ``find_contact_by_phone``.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        if search_after is not None:
            body["searchAfter"] = list(search_after)
        else:
            body["page"] = page
        conditions: list[dict[str, Any]] = []
        if tag:
            conditions.append({"field": "tags", "operator": "contains", "value": tag})
        if email:
            conditions.append({"field": "email", "operator": "eq", "value": email})
        conditions.extend(dict(f) for f in filters or ())
        if conditions:
            body["filters"] = conditions
        if query:
            body["query"] = query
        path = "/contacts/search"
        # A search changes nothing, so it is as safe to repeat as a GET.
        data = await self._call("POST", path, module="contacts", json=body, idempotent=True)
        return self._parse(ContactPage, data, "POST", path)

    async def iter_contacts(
        self, *, tag: str | None = None, query: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Contact]:
        """Every matching contact, across pages (without DND: see ``get_contact``)."""
        page_number = 1
        seen = 0
        while True:
            page = await self.search_contacts(
                tag=tag, query=query, page=page_number, page_limit=page_size
            )
            for contact in page.contacts:
                yield contact
            seen += len(page.contacts)
            if not page.contacts or len(page.contacts) < page_size or seen >= page.total:
                return
            page_number += 1

    async def upsert_contact(
        self,
        *,
        phone: str | None = None,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        name: str | None = None,
        timezone: str | None = None,
        tags: Sequence[str] | None = None,
        source: str | None = None,
    ) -> UpsertContactResult:
        """Create the contact, or update the one that matches the phone or email."""
        if not phone and not email:
            raise ValueError("upsert needs a phone or an email")
        fields = {
            "phone": phone,
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "name": name,
            "timezone": timezone,
            "tags": list(tags) if tags is not None else None,
            "source": source,
        }
        body: dict[str, Any] = {"locationId": self.location_id}
        body.update({k: v for k, v in fields.items() if v is not None})
        path = "/contacts/upsert"
        data = await self._call("POST", path, module="contacts", json=body)
        return self._parse(UpsertContactResult, data, "POST", path)

    async def update_contact_dnd(
        self, contact_id: str, *, sms_status: Literal["active", "inactive", "permanent"]
    ) -> Contact:
        """Set (or lift) SMS DND on a contact."""
        path = f"/contacts/{seg(contact_id)}"
        body = {"dndSettings": {"SMS": {"status": sms_status}}}
        data = await self._call("PUT", path, module="contacts", json=body, idempotent=True)
        return self._parse(Contact, unwrap(data, "contact"), "PUT", path)
