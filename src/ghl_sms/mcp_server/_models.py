"""What the tools return: lean versions of the ops models.

Every result costs context twice: its schema in every ``tools/list`` and its data in
every answer. So these carry only what an assistant acts on, and a field that has no
value is left out of the data (and is optional, not nullable, in the schema). Field
names are an API: keep them stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs
from pydantic_core.core_schema import SerializerFunctionWrapHandler

if TYPE_CHECKING:  # only ``of`` reads them: tools/list needs none of the ops layer
    from ghl_sms.ops.models import (
        CheckResult,
        Conversation,
        MessageStatus,
        SenderNumber,
        ThreadMessage,
        ThreadPage,
    )

__all__ = [
    "BulkOut",
    "BulkStatusOut",
    "CampaignsOut",
    "CancelResult",
    "CheckOut",
    "ContactOut",
    "ContactsOut",
    "HistoryOut",
    "InboxOut",
    "LocationOut",
    "NoteOut",
    "NumberOut",
    "NumbersOut",
    "SendOut",
    "SentOut",
    "StatusOut",
    "ThreadOut",
]


def iso_utc(moment: datetime) -> str:
    """``2026-03-04T18:00:00Z``: every timestamp a tool returns, in one format (UTC, to
    the second). A time without an offset is GHL's UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


UtcTime = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]


class Result(BaseModel):
    """Leaves out fields whose value is None, and says so in its schema."""

    model_config = ConfigDict(frozen=True)

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        target = handler.resolve_ref_schema(json_schema)
        required = set(target.get("required", ()))
        for name, prop in target.get("properties", {}).items():
            options = prop.get("anyOf")
            if name in required or not isinstance(options, list):
                continue
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and len(options) == 2:
                del prop["anyOf"]
                prop.update(rest[0])
            if "default" in prop and prop["default"] is None:
                del prop["default"]
        return json_schema


class SendOut(Result):
    outcome: Literal["sent", "scheduled", "duplicate", "dry_run"]
    summary: str
    message_id: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    to_number: str | None = None
    status: str | None = None
    scheduled_at: UtcTime | None = None
    parts: int
    cost_usd: float | None = None
    warnings: list[str] | None = None


class CancelResult(Result):
    message_id: str | None = None
    campaign_id: str | None = None
    opted_out: str | None = None
    cancelled: bool
    note: str | None = None


class BulkOut(Result):
    campaign_id: str
    outcome: Literal["dry_run", "started", "already_started", "nothing_to_send"]
    summary: str
    recipients: int
    will_send: int | None = None
    skipped: dict[str, int] | None = None
    parts: int | None = None
    cost_usd: float | None = None
    samples: list[str] | None = None


class BulkStatusOut(Result):
    campaign_id: str
    name: str | None = None
    state: str
    recipients: int
    sent: int
    skipped: int
    failed: int
    left: int
    per_minute: float
    eta_minutes: float | None = None
    waiting: str | None = None
    reasons: dict[str, int] | None = None


class StatusOut(Result):
    message_id: str
    status: str | None = None
    final: bool
    direction: str | None = None
    contact_id: str | None = None
    body: str | None = None
    date: UtcTime | None = None
    error_code: str | None = None
    explanation: str | None = None
    advice: str | None = None

    @classmethod
    def of(cls, m: MessageStatus, body: str | None) -> StatusOut:
        return cls(
            message_id=m.message_id,
            status=m.status,
            final=m.final,
            direction=m.direction,
            contact_id=m.contact_id,
            body=body,
            date=m.date_added,
            error_code=m.error_code,
            explanation=m.explanation,
            advice=m.advice,
        )


class MessageOut(Result):
    id: str
    direction: str | None = None
    body: str | None = None
    status: str | None = None
    date: UtcTime | None = None
    media: list[str] | None = None
    error_code: str | None = None

    @classmethod
    def of(cls, m: ThreadMessage, body: str | None) -> MessageOut:
        return cls(
            id=m.id,
            direction=m.direction,
            body=body,
            status=m.status,
            date=m.date_added,
            media=m.attachments or None,
            error_code=m.error_code,
        )


class ThreadOut(Result):
    conversation_id: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    unread: int
    messages: list[MessageOut]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: ThreadPage, messages: list[MessageOut], next_cursor: str | None) -> ThreadOut:
        return cls(
            conversation_id=page.conversation_id,
            contact_id=page.contact_id,
            contact_name=page.contact_name,
            phone=page.phone,
            unread=page.unread_count,
            messages=messages,
            next_cursor=next_cursor,
        )


class ConversationOut(Result):
    conversation_id: str
    contact_id: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    unread: int
    last_message: str | None = None
    last_direction: str | None = None
    last_date: UtcTime | None = None

    @classmethod
    def of(cls, c: Conversation, last_message: str | None) -> ConversationOut:
        return cls(
            conversation_id=c.id,
            contact_id=c.contact_id,
            contact_name=c.contact_name,
            phone=c.phone,
            unread=c.unread_count,
            last_message=last_message,
            last_direction=c.last_message_direction,
            last_date=c.last_message_at,
        )


class InboxOut(Result):
    conversations: list[ConversationOut]
    next_cursor: str | None = None

    @classmethod
    def of(cls, conversations: list[ConversationOut], next_cursor: str | None) -> InboxOut:
        return cls(conversations=conversations, next_cursor=next_cursor)


class NoteOut(Result):
    code: str
    level: Literal["warn", "blocked"]
    message: str


class CheckOut(Result):
    verdict: Literal["ok", "warn", "blocked"]
    notes: list[NoteOut] | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    to_number: str | None = None
    sms_dnd: bool | None = None
    opted_out: bool | None = None
    next_allowed_at: UtcTime | None = None
    encoding: str | None = None
    parts: int | None = None
    gsm_text: str | None = None

    @classmethod
    def of(cls, c: CheckResult) -> CheckOut:
        return cls(
            verdict=c.verdict,
            notes=[NoteOut(code=n.code, level=n.level, message=n.message) for n in c.notes] or None,
            contact_id=c.contact_id,
            contact_name=c.contact_name,
            to_number=c.to,
            sms_dnd=c.sms_dnd,
            opted_out=c.opted_out,
            next_allowed_at=c.next_allowed_at,
            encoding=c.encoding,
            parts=c.segments,
        )


class NumberOut(Result):
    phone_number: str
    name: str | None = None
    sms: bool
    mms: bool
    is_default: bool

    @classmethod
    def of(cls, n: SenderNumber) -> NumberOut:
        return cls(
            phone_number=n.phone_number, name=n.name, sms=n.sms, mms=n.mms, is_default=n.is_default
        )


class LocationOut(Result):
    # A sub-account the server texts for (sms_numbers without location). No docstring:
    # it would be published as a description in every tools/list.
    location: str  # what to pass as location: the profile's name, else the id
    location_id: str
    name: str | None = None  # GHL's name for it
    default: bool | None = None  # true for the one used without location; else left out
    numbers: list[str] | None = None  # its SMS numbers, the default first
    problem: str | None = None  # why its numbers could not be listed


class NumbersOut(Result):
    numbers: list[NumberOut] | None = None  # of the location asked for (or the only one)
    locations: list[LocationOut] | None = None  # several, and no location given: each


class ContactOut(Result):
    id: str
    name: str
    phone: str | None = None
    email: str | None = None
    tags: list[str] | None = None
    sms_dnd: bool | None = None
    opted_out: bool
    timezone: str | None = None
    fields: dict[str, str] | None = None


class ContactsOut(Result):
    contacts: list[ContactOut]
    total: int
    next_cursor: str | None = None


class SentOut(Result):
    message_id: str | None = None
    at: UtcTime
    to_number: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    text: str
    status: str
    scheduled_at: UtcTime | None = None
    parts: int
    cost_usd: float
    campaign_id: str | None = None
    why: str | None = None


class HistoryOut(Result):
    sends: list[SentOut]
    next_cursor: str | None = None


class CampaignsOut(Result):
    campaigns: list[BulkStatusOut]
