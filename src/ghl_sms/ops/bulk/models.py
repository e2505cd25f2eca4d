"""What a bulk campaign is made of, and what the engine reports (CLI ``--json``, MCP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ghl_sms.ops.bulk.guards import Guards
from ghl_sms.rules.send_window import SendWindow

__all__ = [
    "Campaign",
    "CampaignProgress",
    "CampaignSpec",
    "CampaignState",
    "CampaignStatus",
    "Cancelled",
    "Caps",
    "NewRecipient",
    "Preview",
    "PreviewSample",
    "ReasonCount",
    "Recipient",
    "RecipientState",
    "RunSummary",
    "SkipReason",
]


class CampaignState(StrEnum):
    IMPORTING = "importing"
    """Recipients are being read in; a campaign left here by a crash can only be discarded."""
    DRAFT = "draft"
    """Imported, not started: preview it, then start or discard it."""
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class RecipientState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """A worker holds it; after a crash the next pump settles it from the ledger."""
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"
    """Waiting for ``not_before``: quiet hours, a daily cap, or a retry's backoff."""


OPEN_STATES = (RecipientState.PENDING, RecipientState.DEFERRED)


class SkipReason(StrEnum):
    """Reason codes of the engine's own; preflight codes (``sms_dnd``, ``opted_out``,
    ``invalid_phone``, ``no_phone``, ``quiet_hours``...) are used as they are."""

    DUPLICATE_RECIPIENT = "duplicate_recipient"
    """The same person as an earlier row (same contact or number, however listed)."""
    EXPIRED = "expired"
    """Not texted by the campaign's deadline (``--expire-after``)."""
    SPEND_CAP = "spend_cap"
    MISSING_FIELDS = "missing_fields"
    CONTACT_NOT_FOUND = "contact_not_found"
    REPEAT = "repeat"
    CANCELLED = "cancelled"
    DAILY_CAP = "daily_cap"
    GHL_DAILY_LIMIT = "ghl_daily_limit"
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, kw_only=True)
class Caps:
    """Carrier caps (sms-rules §5.2), in messages: never more than these, ever.

    Per location and per sending number; a per-day cap counts calendar days in
    ``day_timezone`` (None: the location's zone, or UTC when it has none) and, once
    reached, moves the campaign to the next day instead of failing anyone.
    """

    per_minute: int | None = None
    per_day: int | None = None
    number_per_minute: int | None = None
    number_per_day: int | None = None
    day_timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_minute": self.per_minute,
            "per_day": self.per_day,
            "number_per_minute": self.number_per_minute,
            "number_per_day": self.number_per_day,
            "day_timezone": self.day_timezone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Caps:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True, kw_only=True)
class CampaignSpec:
    """What to send, from where, and how carefully; the recipients come from a source."""

    location_id: str
    template: str
    name: str | None = None
    from_number: str | None = None
    """The sending number (E.164); None: the location's default number."""
    attachments: tuple[str, ...] = ()
    transactional: bool = False
    """Not marketing (reminders): quiet hours don't apply."""
    quiet_hours: Literal["defer", "skip"] = "defer"
    """A recipient in their quiet hours (or outside ``send_window``) waits for their next
    allowed moment, or is skipped."""
    send_window: SendWindow | None = None
    """The sender's own daily hours in each recipient's local time, on top of quiet hours
    (the stricter wins each day); applies to transactional campaigns too."""
    caps: Caps = field(default_factory=Caps)
    max_attempts: int = 5
    """Tries per recipient after transient failures (5xx, timeouts) before it fails."""
    guards: Guards = field(default_factory=Guards)
    """Auto-pause thresholds, spend cap and deadline (``guards.py``)."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Campaign(_Out):
    id: str
    location_id: str
    name: str
    template: str
    attachments: list[str] = []
    from_number: str | None = None
    transactional: bool = False
    quiet_hours: Literal["defer", "skip"] = "defer"
    send_window: str | None = None
    """``"09:30-17:00"`` (``SendWindow``'s text), or None: quiet hours only."""
    caps: dict[str, Any] = {}
    max_attempts: int = 5
    source: str
    state: CampaignState
    state_reason: str | None = None
    """Why it paused by itself (GHL refused the token, the sender is not available)."""
    waiting_reason: str | None = None
    """While nothing is due: ``daily_cap``, ``ghl_daily_limit`` or ``quiet_hours``."""
    waiting_until: datetime | None = None
    total: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime

    @property
    def caps_spec(self) -> Caps:
        return Caps.from_dict(self.caps)

    @property
    def guards(self) -> Guards:
        return Guards.from_dict(self.caps.get("guards"))

    @property
    def send_window_spec(self) -> SendWindow | None:
        return SendWindow.parse(self.send_window) if self.send_window else None


@dataclass(frozen=True)
class NewRecipient:
    """One recipient as a source gives it, before it is stored."""

    contact_id: str | None
    phone: str | None
    """E.164 when valid, else as given."""
    fields: Mapping[str, str]
    skip: tuple[str, str] | None = None
    """(code, sentence) when it is known at import not to be sent."""


@dataclass(frozen=True)
class Recipient:
    id: int
    campaign_id: str
    seq: int
    contact_id: str | None
    phone: str | None
    fields: Mapping[str, str]
    state: RecipientState
    reason_code: str | None
    reason: str | None
    not_before: float
    idempotency_key: str
    message_id: str | None
    attempts: int
    """Send requests that may have reached GHL for it (``bulk report``)."""
    updated_at: float
    tries: int = 0
    """Transient failures so far, lookups included: counted against ``max_attempts``."""


class ReasonCount(_Out):
    state: Literal["skipped", "failed", "deferred"]
    code: str
    count: int
    example: str | None = None
    """One recipient's sentence for it."""


class CampaignProgress(_Out):
    """A live snapshot, as the engine sends it to ``on_progress`` while it runs."""

    campaign_id: str
    state: CampaignState
    total: int
    sent: int
    skipped: int
    failed: int
    deferred: int
    pending: int
    """Not done yet: pending, sending and deferred."""
    rate_per_minute: float
    """Messages sent in the last minute."""
    eta_seconds: float | None
    waiting_reason: str | None = None
    waiting_until: datetime | None = None

    @property
    def done(self) -> int:
        return self.sent + self.skipped + self.failed


class CampaignStatus(_Out):
    """``bulk status``: counts by state and reason, rate and time left."""

    campaign: Campaign
    counts: dict[str, int]
    """Recipients by state (pending, sending, sent, skipped, failed, deferred);
    ``sending`` only counts sends a live process has in flight."""
    interrupted: int = 0
    """Recipients a stopped run left mid-send: settled from the ledger (and GHL) by the
    next ``bulk resume``, or by ``bulk cancel``."""
    reasons: list[ReasonCount]
    rate_per_minute: float
    """Messages sent in the last minute (what happened, not a forecast)."""
    eta_seconds: float | None
    """Time left at the caps, the request budget and the recipients' own waits; None
    while the campaign is not running."""
    next_due_at: datetime | None
    """When the next waiting recipient is due; None when some are due now or none is
    left."""
    active: bool
    """A pump holds the campaign's location right now (this or another process)."""
    worker: str | None = None
    """Who holds it: ``host:pid``."""

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("sent", "skipped", "failed"))


class PreviewSample(_Out):
    seq: int
    to: str | None
    contact_id: str | None
    text: str | None
    """Exactly what this recipient would get: rendered from the row and their GHL
    contact, fallbacks applied (never a raw placeholder)."""
    segments: int | None = None
    encoding: str | None = None


class Preview(_Out):
    """``bulk send --dry-run``: what would happen, computed locally; nothing is sent."""

    campaign_id: str
    total: int
    would_send: int
    """Not skipped by anything known before sending: with ``dnd_checked`` after the full
    preflight; otherwise DND (read at send time) may still skip some."""
    skipped: list[ReasonCount]
    deferred_quiet_hours: int
    """Of ``would_send``: recipients in their quiet hours now (by number), who would wait."""
    fields_from_contact: int
    """Of ``would_send``: recipients whose merge fields must come from their GHL contact;
    skipped at send time if the contact doesn't have them."""
    dnd_checked: bool
    messages_parts: int
    """Total billed parts (segments) of ``would_send`` messages, as rendered."""
    max_parts: int
    encodings: dict[str, int]
    cost_estimate_usd: float
    requests_estimate: int
    """GHL requests the send would take (lookups + sends)."""
    duration_estimate_seconds: float
    """At GHL's rate limit and the campaign's caps, without daily caps or quiet hours."""
    samples: list[PreviewSample]
    warnings: list[str] = []


class RunSummary(_Out):
    campaigns: list[CampaignProgress]
    busy_locations: dict[str, str] = {}
    """Locations another process was already pumping: location id -> ``host:pid``."""


class Cancelled(_Out):
    """A campaign cancelled and settled (``BulkEngine.cancel_and_settle``)."""

    campaign: Campaign
    unsettled: int
    """Sends still ``sending``: a live pump's (it finishes them), or ones GHL could not be
    asked about yet (a later ``settle`` or pump looks them up; never sent twice)."""
