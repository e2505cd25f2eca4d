"""Every send this install made, from the ledger: when, to whom, what, its cost and fate.

Read-only and offline: the ledger and the status events the webhook receiver (or the
watcher) stored next to it are all it reads; no GHL request is made. The CLI's
``history`` command, the MCP server and a web console share it::

    entries = history(ledger, EventLog(ledger.conn, clock), HistoryQuery(location_id=loc))

An entry's ``status`` is one word for what happened to the send:

    scheduled, pending, sent, delivered, read, failed, undelivered, opt_out
                GHL's own status: the newest known from webhooks, polling or ``status``
    not_sent    GHL refused it, or it provably never left (nothing was sent, nothing billed)
    unknown     GHL's answer was lost; it may have gone out (never retried blindly)
    cancelled   a scheduled message, cancelled before it went out
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict

from ghl_sms.ops._service_base import FINAL_STATUSES, ServiceConfig, explain_failure
from ghl_sms.ops._when import _DURATION, _SECONDS
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.events import EventLog, StatusEvent, status_rank
from ghl_sms.ops.ledger import Ledger, SendRecord, SendState
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.segments import count_segments

__all__ = [
    "CSV_COLUMNS",
    "STATUSES",
    "HistoryEntry",
    "HistoryQuery",
    "history",
    "parse_moment",
    "parse_statuses",
    "write_csv",
]

STATUSES: tuple[str, ...] = (
    "scheduled", "pending", "sent", "delivered", "read", "failed", "undelivered", "opt_out",
    "not_sent", "unknown", "cancelled",
)  # fmt: skip
"""The statuses an entry can have (GHL may report others, e.g. ``queued``; kept as is)."""

_NOT_SENT = "not_sent"
_UNKNOWN = "unknown"


class HistoryEntry(BaseModel):
    """One send, as the ledger knows it. Times are UTC."""

    model_config = ConfigDict(frozen=True)

    created_at: datetime
    """When the send was recorded (just before it went to GHL)."""
    scheduled_at: datetime | None = None
    """When a scheduled message goes (or went) out."""
    message_id: str | None
    """GHL's message id (for ``status`` and ``cancel``); None if GHL never gave one."""
    conversation_id: str | None = None
    contact_id: str | None
    contact_name: str | None = None
    """The contact's name when it was sent; None for sends recorded before names were kept."""
    to: str | None
    """The number texted (E.164)."""
    from_number: str | None = None
    """The sending number asked for; None: the location's default."""
    text: str
    """The text as sent (merge fields filled)."""
    attachments: list[str] = []
    type: Literal["SMS", "MMS"]
    encoding: str
    segments: int
    cost_estimate_usd: float
    """List price of the parts (0 for a send that never went out); GHL bills the truth."""
    status: str
    """One word for the send's fate (see the module's table)."""
    status_at: datetime | None = None
    """When GHL reported the status, if a webhook or the watcher told us."""
    final: bool
    """No further status change is expected."""
    error_code: str | None = None
    explanation: str | None = None
    """What went wrong, in plain words."""
    advice: str | None = None
    """What to do about it."""
    campaign_id: str | None = None
    idempotency_key: str
    attempts: int


@dataclass(frozen=True, kw_only=True)
class HistoryQuery:
    """Which sends to list; every filter given narrows it. Newest first."""

    location_id: str
    to: str | None = None
    """A phone number, in any common form; normalised with ``default_region``."""
    contact_id: str | None = None
    since: datetime | None = None
    """Recorded at or after (aware datetime)."""
    until: datetime | None = None
    """Recorded at or before (aware datetime)."""
    statuses: frozenset[str] = frozenset()
    """Only these statuses (``STATUSES``); empty: all."""
    campaign_id: str | None = None
    limit: int | None = 50
    """At most this many entries; None: all of them."""
    default_region: str = "US"


def history(
    ledger: Ledger,
    events: EventLog,
    query: HistoryQuery,
    *,
    config: ServiceConfig | None = None,
) -> list[HistoryEntry]:
    """The sends matching ``query``, newest first.

    Raises ``UsageError`` for a number that is not one, a time span that ends before it
    starts, or a limit below 1. ``config`` supplies the prices (``ServiceConfig``'s list
    prices by default).
    """
    prices = config or ServiceConfig()
    to = None
    if query.to is not None:
        try:
            to = parse_phone(query.to, query.default_region).e164
        except PhoneNumberError as exc:
            raise UsageError(str(exc)) from None
    if query.since and query.until and query.since > query.until:
        raise UsageError(
            f"The span ends ({_iso(query.until)}) before it starts ({_iso(query.since)}); "
            "swap the two times."
        )
    if query.limit is not None and query.limit < 1:
        raise UsageError(f"The limit must be 1 or more, not {query.limit}.")
    records = ledger.search(
        query.location_id,
        contact_id=query.contact_id,
        to_number=to,
        campaign_id=query.campaign_id,
        since=query.since.timestamp() if query.since else None,
        until=query.until.timestamp() if query.until else None,
    )
    entries: list[HistoryEntry] = []
    for record in records:
        entry = _entry(record, events, prices)
        if query.statuses and entry.status not in query.statuses:
            continue
        entries.append(entry)
        if query.limit is not None and len(entries) >= query.limit:
            break
    return entries


def _latest(events: EventLog, record: SendRecord) -> StatusEvent | None:
    return events.latest_status(record.message_id) if record.message_id else None


def _entry(record: SendRecord, events: EventLog, prices: ServiceConfig) -> HistoryEntry:
    event = _latest(events, record)
    status, error_code, detail = _fate(record, event)
    explanation, advice = _explain(status, error_code, detail)
    report = count_segments(record.text)
    mms = bool(record.attachments)
    went_out = status not in (_NOT_SENT, "cancelled")
    if not went_out:
        cost = 0.0
    elif mms:
        cost = round(prices.mms_price * max(report.segments, 1), 4)
    else:
        cost = round(prices.sms_price_per_segment * report.segments, 4)
    return HistoryEntry(
        created_at=_utc(record.created_at),
        scheduled_at=_utc(record.scheduled_at) if record.scheduled_at else None,
        message_id=record.message_id,
        conversation_id=record.conversation_id,
        contact_id=record.contact_id,
        contact_name=record.contact_name,
        to=record.to_number,
        from_number=record.from_number,
        text=record.text,
        attachments=list(record.attachments),
        type="MMS" if mms else "SMS",
        encoding=report.encoding,
        segments=report.segments,
        cost_estimate_usd=cost,
        status=status,
        status_at=_utc(event.at) if event is not None and event.status == status else None,
        final=status in FINAL_STATUSES or status in (_NOT_SENT, "cancelled"),
        error_code=error_code,
        explanation=explanation,
        advice=advice,
        campaign_id=record.campaign_id,
        idempotency_key=record.idempotency_key,
        attempts=record.attempts,
    )


def _fate(record: SendRecord, event: StatusEvent | None) -> tuple[str, str | None, str | None]:
    """(status, error code, GHL's error text) from the ledger and the newest status event.

    The ledger's status can be newer (a ``status`` call) or older (a webhook stored while
    the ledger was busy) than the events; the one further along a message's life wins.
    """
    if record.state is SendState.CANCELLED:
        return "cancelled", None, None
    if record.state is SendState.FAILED:
        return _NOT_SENT, record.error_code, record.error_message
    if record.in_doubt:
        return _UNKNOWN, None, record.error_message
    status = record.status or "sent"
    code, detail = record.error_code, record.error_message
    if event is not None and status_rank(event.status) > status_rank(status):
        status = event.status
        code, detail = event.error_code or code, event.error_message or detail
    return status.lower(), code, detail


def _explain(status: str, code: str | None, detail: str | None) -> tuple[str | None, str | None]:
    if status in ("failed", "undelivered"):
        return explain_failure(status, code, detail)
    if status == "opt_out":
        return (
            "The recipient has opted out of texts; GHL did not send it.",
            "They must text START before you text them again.",
        )
    if status == _NOT_SENT:
        why = f": {detail}" if detail else "."
        return f"Not sent{why}", "Nothing went out and nothing was billed; fix it and send again."
    if status == _UNKNOWN:
        return (
            "GHL's answer was lost (or the send was interrupted): it may have gone out.",
            "Sending it again is safe: ghl-sms looks for it in the conversation first and "
            "never texts twice.",
        )
    return None, None


def parse_statuses(values: Iterable[str]) -> frozenset[str]:
    """``["failed,undelivered", "not_sent"]`` -> the set; an unknown word is a UsageError."""
    wanted = {
        word.strip().lower().replace("-", "_")
        for value in values
        for word in value.split(",")
        if word.strip()
    }
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise UsageError(
            f"Unknown status {', '.join(repr(u) for u in unknown)}; use one or more of: "
            f"{', '.join(STATUSES)}."
        )
    return frozenset(wanted)


_MAX_AGO = timedelta(days=365 * 100)


def parse_moment(text: str, now: datetime) -> datetime:
    """A moment in the past for ``--since``/``--until``: a duration means "ago" (``2d``,
    ``1d2h``, ``90m``, ``3h ago``), or an ISO-8601 time with an offset.

    Raises ``UsageError`` saying what is accepted.
    """
    raw = text.strip()
    candidate = raw.lower().removesuffix("ago").replace(" ", "")
    if candidate and _DURATION.sub("", candidate) == "" and _DURATION.search(candidate):
        seconds = sum(float(n) * _SECONDS[u.lower()] for n, u in _DURATION.findall(candidate))
        if seconds > _MAX_AGO.total_seconds():
            raise UsageError(f"{_shown(text)} is too long ago; use at most 36500d.")
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", raw))
    except ValueError:
        raise UsageError(
            f"{_shown(text)} is not a time. Use a duration meaning that long ago, such as "
            "2d, 12h or 1d2h, or an ISO-8601 time with an offset such as "
            "2026-03-01T00:00:00-05:00."
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(
            f"{_shown(text)} has no UTC offset; add one (e.g. -05:00 or Z) so it means one instant."
        )
    return moment


CSV_COLUMNS: tuple[str, ...] = (
    "created_at", "message_id", "contact_id", "contact_name", "to", "from_number", "type",
    "text", "segments", "cost_estimate_usd", "status", "final", "error_code", "explanation",
    "campaign_id", "scheduled_at", "status_at", "conversation_id", "attachments",
)  # fmt: skip

# Free text that a spreadsheet would run as a formula if it starts with one of these.
_FREE_TEXT = frozenset({"contact_name", "text", "explanation"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(entries: Iterable[HistoryEntry], stream: IO[str]) -> int:
    """Write ``entries`` as CSV (``CSV_COLUMNS``, times in ISO 8601 UTC); return how many.

    Free-text cells that start like a spreadsheet formula (``=``, ``+``, ``-``, ``@``) get
    a leading apostrophe, so opening the export never runs what a contact typed.
    """
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for entry in entries:
        writer.writerow(_csv_row(entry))
        count += 1
    return count


def _csv_row(entry: HistoryEntry) -> dict[str, str]:
    values = entry.model_dump()
    row: dict[str, str] = {}
    for column in CSV_COLUMNS:
        value = values[column]
        if isinstance(value, datetime):
            cell = _iso(value)
        elif isinstance(value, bool):
            cell = "true" if value else "false"
        elif isinstance(value, Sequence) and not isinstance(value, str):
            cell = " ".join(str(v) for v in value)
        elif value is None:
            cell = ""
        else:
            cell = str(value)
        if column in _FREE_TEXT and cell.startswith(_FORMULA_START):
            cell = "'" + cell
        row[column] = cell
    return row


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")
