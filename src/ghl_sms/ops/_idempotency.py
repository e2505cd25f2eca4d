"""A caller's idempotency key stands for one request: reusing it for another is refused.

Stripe's rule: the same key with the same parameters returns the first result; the same
key with different parameters is an error, because answering "already sent" would hide
that the new message never went out. What counts as the request: the text as given (a
template before merge fields), the attachments, the recipient, the schedule and the
sender. Derived keys are computed from those same parameters, so they cannot conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ghl_sms.ops.errors import IdempotencyConflict
from ghl_sms.ops.ledger import SendRecord
from ghl_sms.rules.phones import PhoneNumberError, parse_phone

__all__ = ["refuse_conflict"]


def _number(raw: str | None, region: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return parse_phone(raw, region).e164
    except PhoneNumberError:
        return raw.strip()


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "now"
    moment = datetime.fromtimestamp(timestamp, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _recipient_difference(
    record: SendRecord, contact_id: str | None, e164: str | None, raw_to: str | None
) -> str | None:
    if contact_id:
        if contact_id == record.contact_id:
            return None
        first = record.contact_id or record.to_number
        return f"the recipient differs: contact {contact_id} vs {first}"
    number = e164 or (raw_to or "").strip()
    if number == record.to_number:
        return None
    return f"the recipient differs: {number} vs {record.to_number or record.contact_id}"


def refuse_conflict(
    record: SendRecord,
    *,
    text: str,
    attachments: Sequence[str],
    contact_id: str | None,
    e164: str | None,
    raw_to: str | None,
    scheduled_at: float | None,
    from_number: str | None,
    region: str,
) -> None:
    """Raise ``IdempotencyConflict`` naming what differs between this request and the one
    first made under ``record``'s key (never the texts themselves: they may be long or
    private)."""
    differences: list[str] = []
    if text != record.given_text:
        differences.append("the text differs")
    if tuple(attachments) != tuple(record.attachments):
        differences.append("the attachments differ")
    recipient = _recipient_difference(record, contact_id, e164, raw_to)
    if recipient is not None:
        differences.append(recipient)
    if scheduled_at != record.scheduled_at:
        differences.append(
            f"the schedule differs: {_when(scheduled_at)} vs {_when(record.scheduled_at)}"
        )
    now_from, first_from = _number(from_number, region), _number(record.from_number, region)
    if now_from != first_from:
        differences.append(
            f"the sender differs: {now_from or 'the default'} vs {first_from or 'the default'}"
        )
    if differences:
        raise IdempotencyConflict.of(record.idempotency_key, differences, record.message_id)
