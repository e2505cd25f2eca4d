"""Typed shapes of the GHL API, as the wire carries them.

camelCase on the wire, snake_case in Python, unknown fields ignored (GHL adds fields
without notice, and the webhook docs lag the live payloads). Field names follow the
official OpenAPI specs in ``ghl-api-spec/``; where the live API is known to differ
(the nested messages list, the wrapped message, numeric vs string conversation types)
the client unwraps it before these models see the data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "CancelScheduledResult",
    "Contact",
    "ContactPage",
    "ConversationDetail",
    "ConversationPage",
    "ConversationSummary",
    "CreatedConversation",
    "CustomField",
    "DndChannel",
    "DndSettings",
    "GhlModel",
    "InboundMessageResult",
    "Location",
    "Message",
    "MessageFailure",
    "MessagePage",
    "NumberCapabilities",
    "PhoneNumber",
    "PhoneNumberList",
    "SendMessageResult",
    "UploadResult",
    "UpsertContactResult",
]


class GhlModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The camelCase JSON body, without unset optional fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _parse_epoch_or_iso(value: Any) -> Any:
    """GHL mixes ISO strings, epoch-ms numbers and epoch-ms strings for dates."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 10**11:  # milliseconds
            number /= 1000
        return datetime.fromtimestamp(number, tz=UTC)
    return value


# --- contacts -------------------------------------------------------------------------


class DndChannel(GhlModel):
    status: str = "inactive"
    """``active``, ``inactive`` or ``permanent``."""
    message: str | None = None
    code: str | None = None

    @property
    def blocks(self) -> bool:
        return self.status in ("active", "permanent")


def _dnd_key(upper: str, lower: str) -> Any:
    # v2 uses "SMS", "WhatsApp"...; the v3 spec uses lower-case keys.
    return Field(
        default=None, validation_alias=AliasChoices(upper, lower), serialization_alias=upper
    )


class DndSettings(GhlModel):
    call: DndChannel | None = _dnd_key("Call", "call")
    email: DndChannel | None = _dnd_key("Email", "email")
    sms: DndChannel | None = _dnd_key("SMS", "sms")
    whatsapp: DndChannel | None = _dnd_key("WhatsApp", "whatsApp")
    gmb: DndChannel | None = _dnd_key("GMB", "gmb")
    fb: DndChannel | None = _dnd_key("FB", "fb")
    rcs: DndChannel | None = _dnd_key("RCS", "rcs")


class CustomField(GhlModel):
    id: str
    value: Any = None


class Contact(GhlModel):
    id: str
    location_id: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    company_name: str | None = None
    dnd: bool = False
    dnd_settings: DndSettings | None = None
    type: str | None = None
    source: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[CustomField] = Field(default_factory=list)
    date_added: datetime | None = None
    date_updated: datetime | None = None
    search_after: list[Any] | None = None
    """In search results only: pass it back as ``search_after`` for the next page."""

    @field_validator("tags", "custom_fields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return self.name or full or self.phone or self.email or self.id

    @property
    def sms_dnd(self) -> bool:
        """Whether GHL would refuse SMS: global DND, or SMS DND active or permanent.

        Global ``dnd: true`` with ``SMS.status: inactive`` is treated as blocked: the
        docs don't say it isn't, and safety beats convenience (ghl-api.md §4.1).
        """
        if self.dnd:
            return True
        sms = self.dnd_settings.sms if self.dnd_settings else None
        return bool(sms and sms.blocks)


class ContactPage(GhlModel):
    """``POST /contacts/search``: the live API answers ``total`` (the spec says ``count``).
    Search results omit DND; read a contact with ``get_contact`` for that."""

    contacts: list[Contact] = Field(default_factory=list)
    total: int = Field(default=0, validation_alias=AliasChoices("total", "count"))


class UpsertContactResult(GhlModel):
    new: bool = False
    contact: Contact
    trace_id: str | None = None


# --- numbers and location -------------------------------------------------------------


class NumberCapabilities(GhlModel):
    voice: bool = False
    sms: bool = False
    mms: bool = False
    fax: bool = False


class PhoneNumber(GhlModel):
    phone_number: str
    friendly_name: str | None = None
    sid: str | None = None
    country_code: str | None = None
    capabilities: NumberCapabilities = Field(default_factory=NumberCapabilities)
    type: str | None = None
    is_default_number: bool = False
    origin: str | None = None

    @field_validator("capabilities", mode="before")
    @classmethod
    def _none_capabilities(cls, value: Any) -> Any:
        return {} if value is None else value


class PhoneNumberList(GhlModel):
    numbers: list[PhoneNumber] = Field(default_factory=list)
    is_under_ghl: bool | None = None
    page: int | None = None
    page_size: int | None = None
    account_status: str | None = None

    @property
    def default(self) -> PhoneNumber | None:
        return next((n for n in self.numbers if n.is_default_number), None)


class Location(GhlModel):
    id: str
    name: str | None = None
    timezone: str | None = None
    phone: str | None = None
    state: str | None = None
    country: str | None = None


# --- messages -------------------------------------------------------------------------


class MessageFailure(GhlModel):
    """A delivery failure. GHL's exact field is unconfirmed; we read the ErrorDto shape
    ``{code, type, message}`` and also accept a bare string."""

    code: str | None = None
    type: str | None = None
    message: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_text(cls, value: Any) -> Any:
        return None if value is None else str(value)


class Message(GhlModel):
    id: str
    type: int | None = None
    message_type: str | None = None
    location_id: str | None = None
    contact_id: str | None = None
    conversation_id: str | None = None
    date_added: datetime | None = None
    body: str | None = None
    direction: str | None = None
    status: str | None = None
    content_type: str | None = None
    attachments: list[str] = Field(default_factory=list)
    source: str | None = None
    user_id: str | None = None
    conversation_provider_id: str | None = None
    error: MessageFailure | None = None

    @field_validator("attachments", mode="before")
    @classmethod
    def _none_attachments(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("date_added", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return _parse_epoch_or_iso(value)

    @field_validator("error", mode="before")
    @classmethod
    def _error_shapes(cls, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, dict | MessageFailure):
            return value or None
        text = str(value)
        digits = next((w.strip("():,.") for w in text.split() if w.strip("():,.").isdigit()), None)
        return {"code": digits, "message": text}


class MessagePage(GhlModel):
    messages: list[Message] = Field(default_factory=list)
    last_message_id: str | None = None
    next_page: bool = False


class SendMessageResult(GhlModel):
    conversation_id: str
    message_id: str
    status: str | None = None
    msg: str | None = None


class CancelScheduledResult(GhlModel):
    status: int
    message: str


class InboundMessageResult(GhlModel):
    success: bool = True
    conversation_id: str
    message_id: str
    message: str | None = None
    contact_id: str | None = None


class UploadResult(GhlModel):
    uploaded_files: dict[str, str] = Field(default_factory=dict)
    """File name -> public URL, for ``attachments`` of a send."""


# --- conversations --------------------------------------------------------------------


class ConversationSummary(GhlModel):
    """A conversation as ``GET /conversations/search`` lists it (``type`` is a string)."""

    id: str
    contact_id: str | None = None
    location_id: str | None = None
    last_message_body: str | None = None
    last_message_type: str | None = None
    last_message_direction: str | None = None
    last_message_date: datetime | None = None
    type: str | None = None
    unread_count: int = 0
    full_name: str | None = None
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_added: datetime | None = None
    date_updated: datetime | None = None
    sort: list[float] | None = None
    """The value to pass as ``startAfterDate`` to get the page after this document."""

    @field_validator("last_message_date", "date_added", "date_updated", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return _parse_epoch_or_iso(value)

    @field_validator("unread_count", mode="before")
    @classmethod
    def _unread(cls, value: Any) -> Any:
        return 0 if value is None else value


class ConversationPage(GhlModel):
    conversations: list[ConversationSummary] = Field(default_factory=list)
    total: int = 0


class ConversationDetail(GhlModel):
    """``GET /conversations/{id}``: here ``type`` is a number (1 = phone)."""

    id: str
    contact_id: str
    location_id: str
    deleted: bool = False
    inbox: bool = True
    type: int | str | None = None
    unread_count: int = 0
    assigned_to: str | None = None
    starred: bool = False


class CreatedConversation(GhlModel):
    id: str
    contact_id: str
    location_id: str
    date_added: datetime | None = None
    date_updated: datetime | None = None
    last_message_date: datetime | None = None

    @field_validator("last_message_date", "date_added", "date_updated", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return _parse_epoch_or_iso(value)


MessageStatusUpdate = Literal["delivered", "failed", "pending", "read"]
