"""``bulk report``: every recipient's outcome, who they turned out to be, and what they got.

One row per recipient, in list order, streamed: the row as listed, the contact and number
it was resolved to when it was sent (a CSV row given by number gets its contact id), the
contact's name, the text as sent (from the ledger, under the row's idempotency key),
GHL's message id, and how many send requests may have reached GHL for it (``attempts``:
0 for a row skipped before any send request, even when lookups were retried).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ghl_sms.ops._quiet import iso_utc
from ghl_sms.ops.bulk.models import OPEN_STATES, RecipientState
from ghl_sms.ops.storage.sql import Connection

__all__ = ["REPORT_FIELDS", "Resolved", "ReportRow", "read_report"]

REPORT_FIELDS = (
    "seq", "contact_id", "contact_name", "phone", "state", "reason_code", "reason", "text",
    "message_id", "attempts", "not_before", "updated_at", "idempotency_key",
)  # fmt: skip
"""The report's columns, in order (the CSV header; the JSON objects' keys)."""


@dataclass(frozen=True)
class Resolved:
    """Who a recipient's row turned out to be when it was looked up for its send."""

    contact_id: str | None
    phone: str | None
    """E.164."""
    name: str | None


@dataclass(frozen=True)
class ReportRow:
    seq: int
    contact_id: str | None
    """As listed, or the contact the row was resolved to (a row given by number)."""
    contact_name: str | None
    """The contact's name in GHL; the list's own name columns for a row never looked up."""
    phone: str | None
    """As listed (E.164 when valid), or the contact's number once it was looked up."""
    state: RecipientState
    reason_code: str | None
    reason: str | None
    text: str | None
    """The message as sent (or as last attempted); None when no send was recorded."""
    message_id: str | None
    attempts: int
    """Send requests that may have reached GHL for this recipient."""
    not_before: float
    updated_at: float
    idempotency_key: str

    def to_dict(self) -> dict[str, Any]:
        """One line of ``bulk report`` (``REPORT_FIELDS``)."""
        return {
            "seq": self.seq,
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
            "phone": self.phone,
            "state": str(self.state),
            "reason_code": self.reason_code,
            "reason": self.reason,
            "text": self.text,
            "message_id": self.message_id,
            "attempts": self.attempts,
            "not_before": _iso(self.not_before) if self.state in OPEN_STATES else None,
            "updated_at": _iso(self.updated_at),
            "idempotency_key": self.idempotency_key,
        }


def _iso(instant: float) -> str:
    return iso_utc(datetime.fromtimestamp(instant, UTC))


def listed_name(fields: Mapping[str, str]) -> str | None:
    """The name a list gives for a row (``name``, or first and last name columns)."""
    full = " ".join(fields[k] for k in ("first_name", "last_name") if fields.get(k))
    return (fields.get("name") or full or "").strip() or None


_SELECT = """
    SELECT r.seq, coalesce(r.contact_id, r.resolved_contact_id, s.contact_id),
           coalesce(r.contact_name, s.contact_name), r.fields,
           coalesce(r.phone, r.resolved_phone, s.to_number), r.state, r.reason_code, r.reason,
           s.text, coalesce(r.message_id, s.message_id), r.attempts, r.not_before,
           r.updated_at, r.idempotency_key
    FROM bulk_recipients r LEFT JOIN sends s ON s.idempotency_key = r.idempotency_key
    WHERE r.campaign_id = ? AND r.seq > ? ORDER BY r.seq LIMIT ?
"""


def _row(values: Sequence[Any]) -> ReportRow:
    state = RecipientState(values[5])
    text = values[8]
    return ReportRow(
        seq=values[0],
        contact_id=values[1],
        contact_name=values[2] or listed_name(json.loads(values[3])),
        phone=values[4],
        state=state,
        reason_code=values[6],
        reason=values[7],
        text=text,
        message_id=values[9] if state == RecipientState.SENT else None,
        attempts=values[10],
        not_before=values[11],
        updated_at=values[12],
        idempotency_key=values[13],
    )


def read_report(db: Connection, campaign_id: str, batch: int = 1000) -> Iterator[ReportRow]:
    """The campaign's report rows in list order, read in batches (a long list streams)."""
    last = -1
    while True:
        rows = db.execute(_SELECT, (campaign_id, last, batch)).fetchall()
        if not rows:
            return
        for values in rows:
            yield _row(values)
        last = rows[-1][0]
