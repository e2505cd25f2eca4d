"""Local opt-outs: list them, add one a customer asked for by hand, remove one on purpose.

The ledger's ``opt_outs`` table says who must not be texted by this location. Its rows
come from four sources:

    keyword      the contact replied STOP (or another opt-out word)
    carrier      the carrier refused a text with 21610 (unsubscribed)
    webhook_dnd  GHL reported SMS DND switched on for the contact
    manual       someone recorded it by hand (``OptOutBook.add``)

A STOP always wins: an opt-out from a STOP reply or the carrier is lifted only by the
contact texting START (the webhook receiver and the watcher lift it then). Removing it
by hand is refused with ``OptOutRemovalRefused``, unless a START from the contact is on
record after it. There is deliberately no way to force it: texting someone who replied
STOP breaks the law (TCPA) and the carrier refuses it anyway (21610).

Every manual change is kept in ``opt_out_audit``: what, who, when and why.

``find_dnd`` + ``sync_dnd`` make GHL's SMS DND on the contact match (set on add,
cleared on remove); a permanent DND (GHL's mark of a STOP) is never cleared.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ghl_sms._clock import Clock
from ghl_sms.ghl import Contact, GhlClient
from ghl_sms.ops.errors import OpsError, UsageError
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.storage.sql import Connection, write_transaction
from ghl_sms.rules.phones import PhoneNumberError, parse_phone

__all__ = [
    "SOURCE_LABELS",
    "STOP_SOURCES",
    "AddOutcome",
    "AuditEntry",
    "DndState",
    "DndSync",
    "OptOutBook",
    "OptOutEntry",
    "OptOutRemovalRefused",
    "RemoveOutcome",
    "SyncResult",
    "find_dnd",
    "normalise_phone",
    "refuse_permanent_dnd",
    "sync_dnd",
]

SOURCE_LABELS = {
    "keyword": "STOP reply",
    "carrier": "carrier 21610 (unsubscribed)",
    "webhook_dnd": "SMS DND set in GHL",
    "manual": "manual",
}
"""What each source means, for people."""

STOP_SOURCES = frozenset({"keyword", "carrier"})
"""Opt-outs the contact made themselves: only their START lifts them."""

SyncResult = Literal["set", "cleared", "already", "no_contact", "failed"]
"""What ``sync_dnd`` did to GHL's SMS DND: set it, cleared it, found it already so, found
no contact with the number, or failed (the error says why)."""

DndState = Literal["active", "inactive", "permanent"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OptOutEntry(_Out):
    """One opt-out of a location. Times are UTC."""

    phone: str | None
    contact_id: str | None
    source: str
    """keyword, carrier, webhook_dnd or manual (``SOURCE_LABELS``)."""
    source_label: str
    detail: str | None
    """The STOP text, the carrier error, or the reason given by hand."""
    created_at: datetime
    lifted_at: datetime | None = None
    """When it stopped applying (a START, DND cleared, or a manual remove)."""


class AuditEntry(_Out):
    """One manual change to the opt-outs: what, who, when, why, and GHL's DND after it."""

    action: Literal["add", "remove"]
    phone: str | None
    contact_id: str | None
    reason: str | None
    actor: str | None
    sources: list[str]
    """For a remove: the sources of the opt-outs it lifted."""
    sync: str | None
    """GHL's SMS DND: set, cleared, already, no_contact, failed; None when not synced."""
    at: datetime


class AddOutcome(_Out):
    phone: str
    added: bool
    """False: the number was opted out already (``opt_out`` says since when and why)."""
    opt_out: OptOutEntry
    audit_id: int | None = None
    """The audit row of this add (None when nothing was added); for ``record_sync``."""


class RemoveOutcome(_Out):
    phone: str
    lifted: list[OptOutEntry]
    """The opt-outs lifted now; empty when there was none."""
    audit_id: int | None = None


class OptOutRemovalRefused(OpsError):
    """The contact opted out themselves (a STOP, the carrier's 21610, or GHL's permanent
    DND); only their START lifts it. ``opt_out`` is the local opt-out that stands, if any."""

    def __init__(self, message: str, opt_out: OptOutEntry | None = None) -> None:
        super().__init__(message)
        self.opt_out = opt_out

    @classmethod
    def stop_stands(cls, opt_out: OptOutEntry) -> OptOutRemovalRefused:
        when = opt_out.created_at.strftime("%Y-%m-%d %H:%M UTC")
        said = f" {opt_out.detail!r}" if opt_out.source == "keyword" and opt_out.detail else ""
        return cls(
            f"Not removed: {opt_out.phone or opt_out.contact_id} opted out themselves "
            f"({opt_out.source_label}{said}, {when}). Only the contact can undo it: they must "
            "text START to your number.",
            opt_out,
        )


def normalise_phone(raw: str, default_region: str = "US") -> str:
    """E.164 form of ``raw``; ``UsageError`` for a value that is not a valid number."""
    try:
        return parse_phone(raw, default_region).e164
    except PhoneNumberError as exc:
        raise UsageError(str(exc)) from None


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


_OPT_OUT_COLUMNS = "id, phone, contact_id, source, detail, created_at, lifted_at"


def _entry(row: Sequence[Any]) -> OptOutEntry:
    _, phone, contact_id, source, detail, created_at, lifted_at = row
    return OptOutEntry(
        phone=phone,
        contact_id=contact_id,
        source=source,
        source_label=SOURCE_LABELS.get(source, source),
        detail=detail,
        created_at=datetime.fromtimestamp(created_at, UTC),
        lifted_at=_utc(lifted_at),
    )


class OptOutBook:
    """The opt-outs of the ledger, for any location; shares the ledger's connection."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self._db: Connection = ledger.conn
        self._clock = clock

    # --- reading --------------------------------------------------------------------------

    def opt_outs(
        self, location_id: str, *, phone: str | None = None, include_lifted: bool = False
    ) -> list[OptOutEntry]:
        """The location's opt-outs, newest first: active ones, or every one ever recorded."""
        where, params = ["location_id = ?"], [location_id]
        if phone is not None:
            where.append("phone = ?")
            params.append(phone)
        if not include_lifted:
            where.append("lifted_at IS NULL")
        rows = self._db.execute(
            f"SELECT {_OPT_OUT_COLUMNS} FROM opt_outs WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC",
            params,
        )
        return [_entry(row) for row in rows]

    def audit(self, location_id: str, *, phone: str | None = None) -> list[AuditEntry]:
        """The manual changes, newest first."""
        where, params = ["location_id = ?"], [location_id]
        if phone is not None:
            where.append("phone = ?")
            params.append(phone)
        rows = self._db.execute(
            "SELECT action, phone, contact_id, reason, actor, sources, sync, at "
            f"FROM opt_out_audit WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC",
            params,
        )
        return [
            AuditEntry(
                action=action,
                phone=phone_,
                contact_id=contact_id,
                reason=reason,
                actor=actor,
                sources=json.loads(sources),
                sync=sync,
                at=datetime.fromtimestamp(at, UTC),
            )
            for action, phone_, contact_id, reason, actor, sources, sync, at in rows
        ]

    def _active(
        self, location_id: str, phone: str, contact_id: str | None
    ) -> list[tuple[int, OptOutEntry]]:
        rows = self._db.execute(
            f"SELECT {_OPT_OUT_COLUMNS} FROM opt_outs WHERE location_id = ? AND lifted_at IS NULL "
            "AND (phone = ? OR (contact_id IS NOT NULL AND contact_id = ?)) "
            "ORDER BY created_at DESC, id DESC",
            (location_id, phone, contact_id),
        ).fetchall()
        return [(row[0], _entry(row)) for row in rows]

    def _opted_back_in(self, location_id: str, opt_out: OptOutEntry) -> bool:
        """A START from the contact on record after the opt-out."""
        row = self._db.execute(
            "SELECT 1 FROM inbound_messages WHERE location_id = ? AND keyword = 'opt_in' "
            "AND ((from_number IS NOT NULL AND from_number = ?) "
            "OR (contact_id IS NOT NULL AND contact_id = ?)) "
            "AND coalesce(date_added, received_at) > ? LIMIT 1",
            (location_id, opt_out.phone, opt_out.contact_id, opt_out.created_at.timestamp()),
        ).fetchone()
        return row is not None

    # --- changing -------------------------------------------------------------------------

    def add(
        self,
        location_id: str,
        phone: str,
        *,
        reason: str | None = None,
        actor: str | None = None,
        contact_id: str | None = None,
    ) -> AddOutcome:
        """Record a manual opt-out for ``phone`` (E.164, see ``normalise_phone``).

        Nothing is added when the number is opted out already (``added`` False).
        """
        reason = (reason or "").strip() or None
        with write_transaction(self._db, [f"opt-out:{location_id}"]) as db:
            existing = self._active(location_id, phone, contact_id)
            if existing:
                return AddOutcome(phone=phone, added=False, opt_out=existing[0][1])
            db.execute(
                "INSERT INTO opt_outs (location_id, phone, contact_id, source, detail, "
                "created_at) VALUES (?, ?, ?, 'manual', ?, ?)",
                (location_id, phone, contact_id, reason, self._clock.now()),
            )
            audit_id = self._insert_audit(
                db, location_id, "add", phone, contact_id, reason, actor, []
            )
            added = self._active(location_id, phone, contact_id)[0][1]
        return AddOutcome(phone=phone, added=True, opt_out=added, audit_id=audit_id)

    def check_removable(
        self, location_id: str, phone: str, *, contact_id: str | None = None
    ) -> None:
        """Raise ``OptOutRemovalRefused`` if a STOP (or the carrier's 21610) stands for the
        number and no START came after it; changes nothing."""
        for _, entry in self._active(location_id, phone, contact_id):
            if entry.source in STOP_SOURCES and not self._opted_back_in(location_id, entry):
                raise OptOutRemovalRefused.stop_stands(entry)

    def remove(
        self,
        location_id: str,
        phone: str,
        *,
        reason: str,
        actor: str | None = None,
        contact_id: str | None = None,
    ) -> RemoveOutcome:
        """Lift the number's opt-outs (and the contact's, if given) on purpose.

        ``reason`` is required (``UsageError`` if blank) and recorded with ``actor``.
        Raises ``OptOutRemovalRefused`` when a STOP stands (see ``check_removable``).
        """
        reason = reason.strip()
        if not reason:
            raise UsageError("Say why the opt-out is removed (a reason is required and kept).")
        with write_transaction(self._db, [f"opt-out:{location_id}"]) as db:
            self.check_removable(location_id, phone, contact_id=contact_id)
            active = self._active(location_id, phone, contact_id)
            now = self._clock.now()
            db.executemany(
                "UPDATE opt_outs SET lifted_at = ? WHERE id = ?",
                [(now, row_id) for row_id, _ in active],
            )
            sources = sorted({entry.source for _, entry in active})
            audit_id = self._insert_audit(
                db, location_id, "remove", phone, contact_id, reason, actor, sources
            )
        lifted = [entry.model_copy(update={"lifted_at": _utc(now)}) for _, entry in active]
        return RemoveOutcome(phone=phone, lifted=lifted, audit_id=audit_id)

    def record_sync(
        self, audit_id: int, result: SyncResult, *, contact_id: str | None = None
    ) -> None:
        """Note what GHL's DND became after a change; link the manual opt-out to the
        contact found, so a send by contact id is refused too."""
        with write_transaction(self._db) as db:
            db.execute(
                "UPDATE opt_out_audit SET sync = ?, contact_id = coalesce(contact_id, ?) "
                "WHERE id = ?",
                (result, contact_id, audit_id),
            )
            if contact_id is None:
                return
            row = db.execute(
                "SELECT location_id, phone, action FROM opt_out_audit WHERE id = ?", (audit_id,)
            ).fetchone()
            if row is not None and row[2] == "add":
                db.execute(
                    "UPDATE opt_outs SET contact_id = ? WHERE location_id = ? AND phone = ? "
                    "AND source = 'manual' AND lifted_at IS NULL AND contact_id IS NULL",
                    (contact_id, row[0], row[1]),
                )

    def _insert_audit(
        self,
        db: Connection,
        location_id: str,
        action: str,
        phone: str,
        contact_id: str | None,
        reason: str | None,
        actor: str | None,
        sources: list[str],
    ) -> int:
        row = db.execute(
            "INSERT INTO opt_out_audit (location_id, action, phone, contact_id, reason, actor, "
            "sources, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                location_id, action, phone, contact_id, reason, actor, json.dumps(sources),
                self._clock.now(),
            ),
        ).fetchone()  # fmt: skip
        return int(row[0])


# --- GHL's SMS DND --------------------------------------------------------------------------


class DndSync(_Out):
    """What ``sync_dnd`` did to GHL's SMS DND on the number's contact."""

    result: SyncResult
    contact_id: str | None = None
    contact_name: str | None = None
    global_dnd: bool = False
    """GHL's global DND flag is on: it blocks SMS whatever the SMS setting (ghl-sms does
    not clear it; do that in GHL if intended)."""


async def find_dnd(client: GhlClient, phone: str) -> tuple[Contact | None, DndState | None]:
    """The location's contact with this number (read in full: only ``GET /contacts/{id}``
    carries DND) and its SMS DND status; (None, None) when GHL has no such contact."""
    found = await client.find_contact_by_phone(phone)
    if found is None:
        return None, None
    contact = await client.get_contact(found.id)
    sms = contact.dnd_settings.sms if contact.dnd_settings else None
    status = sms.status if sms is not None else "inactive"
    state: DndState = "permanent" if status == "permanent" else "active"
    return contact, state if status in ("active", "permanent") else "inactive"


def refuse_permanent_dnd(contact: Contact | None, current: DndState | None) -> None:
    """Raise ``OptOutRemovalRefused`` when GHL holds a permanent SMS DND on the contact:
    GHL sets it for a STOP reply and only the contact's START clears it."""
    if contact is not None and current == "permanent":
        raise OptOutRemovalRefused(
            f"Not removed: GHL holds a permanent SMS DND on {contact.phone or contact.id} "
            "(set by a STOP reply). Only the contact can undo it: they must text START to "
            "your number."
        )


async def sync_dnd(
    client: GhlClient, contact: Contact | None, current: DndState | None, *, opted_out: bool
) -> DndSync:
    """Set (``opted_out``) or clear GHL's SMS DND on ``contact`` and ``current`` (as
    ``find_dnd`` gave them). A permanent DND is never cleared (``refuse_permanent_dnd``).
    GHL's errors propagate."""
    if contact is None:
        return DndSync(result="no_contact")
    name = contact.display_name
    if opted_out:
        result: SyncResult = "already" if current in ("active", "permanent") else "set"
        if result == "set":
            await client.update_contact_dnd(contact.id, sms_status="active")
    else:
        refuse_permanent_dnd(contact, current)
        result = "already" if current == "inactive" else "cleared"
        if result == "cleared":
            await client.update_contact_dnd(contact.id, sms_status="inactive")
    return DndSync(result=result, contact_id=contact.id, contact_name=name, global_dnd=contact.dnd)
