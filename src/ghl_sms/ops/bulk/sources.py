"""Where recipients come from: a CSV file, a list of contact ids, or a GHL tag.

Every source is streamed: rows are read one at a time and stored in batches, so a list
of 100,000 never sits in memory. Rows carry a contact id and/or a phone number and the
fields the template may use; what can be checked without GHL (the number is valid,
the row has someone to text) is checked here.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import phonenumbers

from ghl_sms.ghl import Contact, GhlClient
from ghl_sms.ops.bulk.models import NewRecipient
from ghl_sms.ops.bulk.template import contact_fields, normalize_name
from ghl_sms.rules.preflight import ReasonCode

__all__ = [
    "ClientOpener",
    "ContactIdsSource",
    "CsvSource",
    "RecipientSource",
    "SourceError",
    "TagSource",
    "normalize_phone",
]

ClientOpener = Callable[[], AbstractAsyncContextManager[GhlClient]]
"""Opens the location's client (paced by its request budget) for sources that read GHL."""

_PHONE_COLUMNS = ("phone", "phone_number", "mobile", "mobile_phone", "cell", "number", "to")
_CONTACT_COLUMNS = ("contact_id", "contactid", "contact", "ghl_contact_id", "id")


class SourceError(ValueError):
    """The source can't be read as recipients (no such file, no phone or contact column)."""


class RecipientSource(Protocol):
    @property
    def description(self) -> str:
        """Shown in ``bulk status`` (``csv:clients.csv``, ``tag:vip``, ``contacts``)."""
        ...

    def rows(self, open_client: ClientOpener, region: str) -> AsyncIterator[NewRecipient]:
        """The recipients in order, each checked as far as possible without GHL."""
        ...

    def nobody(self) -> str:
        """What to tell the user when the source gave no recipient at all."""
        ...


def normalize_phone(raw: str, region: str) -> str | None:
    """E.164 for a valid number, else None (the same test the preflight applies)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _recipient(
    contact_id: str | None, raw_phone: str | None, fields: Mapping[str, str], region: str
) -> NewRecipient:
    contact_id = (contact_id or "").strip() or None
    raw = (raw_phone or "").strip() or None
    phone = normalize_phone(raw, region) if raw else None
    if contact_id:
        # GHL texts the contact's own number; a number in the row is only kept for the
        # report and for finding duplicates.
        return NewRecipient(contact_id, phone or raw, fields)
    if raw is None:
        return NewRecipient(
            None,
            None,
            fields,
            (str(ReasonCode.NO_PHONE), "The row has neither a phone number nor a contact id."),
        )
    if phone is None:
        return NewRecipient(
            None,
            raw,
            fields,
            (
                str(ReasonCode.INVALID_PHONE),
                f"{raw!r} is not a valid phone number; fix it in the list (E.164, such as "
                "+15551234567).",
            ),
        )
    return NewRecipient(None, phone, fields)


def _cell(cells: list[str], index: int | None) -> str | None:
    return cells[index] if index is not None and index < len(cells) else None


@dataclass(frozen=True)
class CsvSource:
    """A CSV with a header row: a phone column and/or a contact id column, the rest are
    merge fields (``First Name`` fills ``{first_name}``)."""

    path: Path
    encoding: str = "utf-8-sig"

    @property
    def description(self) -> str:
        return f"csv:{self.path.name}"

    async def rows(self, open_client: ClientOpener, region: str) -> AsyncIterator[NewRecipient]:
        try:
            handle = self.path.open(encoding=self.encoding, newline="")
        except OSError as exc:
            raise SourceError(f"Can't read {self.path}: {exc.strerror or exc}.") from None
        with handle:
            try:
                async for row in self._rows(handle, region):
                    yield row
            except UnicodeDecodeError:
                raise SourceError(
                    f"{self.path} is not UTF-8 text, so its names and fields can't be read "
                    "safely. Save it as UTF-8 (Excel: Save As, CSV UTF-8) and run it again."
                ) from None
            except csv.Error:  # a NUL byte, a binary file: not a CSV at all
                raise SourceError(
                    f"{self.path} can't be read as CSV text (is it a spreadsheet or another "
                    "binary file?). Export it as CSV UTF-8 and run it again."
                ) from None

    async def _rows(self, handle: IO[str], region: str) -> AsyncIterator[NewRecipient]:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise SourceError(
                f"{self.path.name} is empty; it needs a header row (phone or contact_id, "
                "then any merge fields) and one row per recipient."
            )
        names = [normalize_name(h) for h in header]
        phone_at = next((names.index(c) for c in _PHONE_COLUMNS if c in names), None)
        contact_at = next((names.index(c) for c in _CONTACT_COLUMNS if c in names), None)
        if phone_at is None and contact_at is None:
            raise SourceError(
                f"{self.path.name} has no phone column ({', '.join(_PHONE_COLUMNS[:3])}) "
                "and no contact id column (contact_id); add one to its header row."
            )
        skip = {phone_at, contact_at}
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            fields = {
                name: cells[i].strip()
                for i, name in enumerate(names)
                if i not in skip and i < len(cells) and cells[i].strip()
            }
            yield _recipient(_cell(cells, contact_at), _cell(cells, phone_at), fields, region)

    def nobody(self) -> str:
        return (
            f"{self.path.name} has a header row but no recipients; add one row per "
            "recipient under it."
        )


@dataclass(frozen=True)
class ContactIdsSource:
    """GHL contact ids; their fields come from each contact when it is texted."""

    contact_ids: Iterable[str]
    label: str = "contacts"

    @property
    def description(self) -> str:
        return self.label

    async def rows(self, open_client: ClientOpener, region: str) -> AsyncIterator[NewRecipient]:
        for contact_id in self.contact_ids:
            if contact_id.strip():
                yield NewRecipient(contact_id.strip(), None, {})

    def nobody(self) -> str:
        return "No contact ids were given; list at least one contact to text."


def _from_contact(contact: Contact, region: str) -> NewRecipient:
    fields = contact_fields(contact)
    fields.pop("phone", None)
    raw = (contact.phone or "").strip()
    if not raw:
        reason = "The contact has no phone number; add one before texting."
        return NewRecipient(contact.id, None, fields, (str(ReasonCode.NO_PHONE), reason))
    phone = normalize_phone(raw, region)
    if phone is None:
        reason = f"{raw!r} is not a valid phone number; fix it on the contact."
        return NewRecipient(contact.id, raw, fields, (str(ReasonCode.INVALID_PHONE), reason))
    return NewRecipient(contact.id, phone, fields)


@dataclass(frozen=True)
class TagSource:
    """Every contact of the location with a tag, read page by page from GHL (each page
    is a request from the location's budget). DND is checked when each is texted."""

    tag: str
    page_size: int = 100

    @property
    def description(self) -> str:
        return f"tag:{self.tag}"

    async def rows(self, open_client: ClientOpener, region: str) -> AsyncIterator[NewRecipient]:
        async with open_client() as client:
            async for contact in client.iter_contacts(tag=self.tag, page_size=self.page_size):
                yield _from_contact(contact, region)

    def nobody(self) -> str:
        return (
            f"No contact in this location has the tag {self.tag!r}; check its spelling "
            "(tags are as GHL shows them on the contact)."
        )
