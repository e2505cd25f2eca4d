"""Contacts in GHL's shape (built from a request's fields, updated, put on SMS DND with a
ContactDndUpdate event) and each contact's one SMS conversation."""

from __future__ import annotations

from ghl_sms.sandbox._engine_base import JsonDict, to_e164
from ghl_sms.sandbox._events import WebhookEvents
from ghl_sms.sandbox._shapes import iso
from ghl_sms.sandbox.store import ConversationRow

__all__ = ["Contacts"]


class Contacts(WebhookEvents):
    def build_contact(
        self, location_id: str, fields: JsonDict, contact_id: str | None = None
    ) -> JsonDict:
        """A new contact in GHL's shape; absent fields are left out, not null."""
        now = iso(self.clock.now())
        contact: JsonDict = {"id": contact_id or self.new_id("contact"), "locationId": location_id}
        contact.update(_contact_fields(fields))
        contact.setdefault("dnd", False)
        contact.setdefault("dndSettings", {})
        contact.setdefault("tags", [])
        contact.setdefault("type", "lead")
        contact.setdefault("source", "public api")
        contact.setdefault("customFields", [])
        contact.setdefault("additionalEmails", [])
        contact["dateAdded"] = now
        contact["dateUpdated"] = now
        _derive_names(contact)
        return contact

    def insert_contact(self, contact: JsonDict) -> JsonDict:
        with self.transaction():
            self.store.insert_contact(contact)
        return contact

    def update_contact(self, contact: JsonDict, fields: JsonDict) -> JsonDict:
        before_dnd = (contact.get("dnd"), contact.get("dndSettings"))
        updated = dict(contact)
        updated.update(_contact_fields(fields))
        updated["dateUpdated"] = iso(self.clock.now())
        _derive_names(updated)
        with self.transaction():
            self.store.update_contact(updated)
            if (updated.get("dnd"), updated.get("dndSettings")) != before_dnd:
                self._emit_dnd(updated)
        return updated

    def set_sms_dnd(self, contact: JsonDict, status: str, message: str) -> JsonDict:
        settings = dict(contact.get("dndSettings") or {})
        settings["SMS"] = {"status": status, "message": message}
        updated = dict(contact, dndSettings=settings, dateUpdated=iso(self.clock.now()))
        with self.transaction():
            self.store.update_contact(updated)
            self._emit_dnd(updated)
        return updated

    # -- conversations --------------------------------------------------------------------

    def conversation_for(self, location_id: str, contact_id: str) -> tuple[ConversationRow, bool]:
        """The contact's one SMS conversation, created if needed; (row, created)."""
        existing = self.store.conversation_for_contact(location_id, contact_id)
        if existing is not None:
            return existing, False
        now = self.clock.now()
        row = ConversationRow(
            0,
            self.new_id("conversation"),
            location_id,
            contact_id,
            0,
            True,
            False,
            False,
            None,
            None,
            None,
            None,
            now,
            now,
        )
        return self.store.insert_conversation(row), True


_CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "timezone",
    "dnd",
    "dndSettings",
    "inboundDndSettings",
    "tags",
    "customFields",
    "source",
    "dateOfBirth",
    "country",
    "companyName",
    "assignedTo",
    "gender",
)


def _contact_fields(fields: JsonDict) -> JsonDict:
    out: JsonDict = {}
    for key in _CONTACT_FIELDS:
        if key not in fields:
            continue
        value = fields[key]
        if key == "phone" and isinstance(value, str):
            value = to_e164(value) or value
        if key == "email" and isinstance(value, str):
            out["emailLowerCase"] = value.lower()
        if key == "customFields" and isinstance(value, list):
            value = [_custom_field(f) for f in value if isinstance(f, dict)]
        if key == "dndSettings" and isinstance(value, dict):
            value = {k: dict(v) for k, v in value.items() if isinstance(v, dict)}
        out[key] = value
    # null clears a field; GHL leaves absent fields out of its answers
    return out


def _custom_field(field: JsonDict) -> JsonDict:
    """``{id, field_value}`` in, ``{id, value}`` out, as GET /contacts/{id} shows them."""
    out: JsonDict = {"id": field.get("id")}
    value = field.get("field_value", field.get("value"))
    if value is not None:
        out["value"] = value
    return out


def _derive_names(contact: JsonDict) -> None:
    for key in [k for k, v in contact.items() if v is None]:
        del contact[key]
    first, last = contact.get("firstName"), contact.get("lastName")
    if isinstance(first, str):
        contact["firstNameLowerCase"] = first.lower()
    if isinstance(last, str):
        contact["lastNameLowerCase"] = last.lower()
    full = " ".join(p for p in (first, last) if isinstance(p, str) and p)
    if full:
        contact.setdefault("name", full)
        contact["fullNameLowerCase"] = full.lower()
    elif isinstance(contact.get("name"), str):
        contact["fullNameLowerCase"] = contact["name"].lower()
    if "email" not in contact:
        contact.pop("emailLowerCase", None)
