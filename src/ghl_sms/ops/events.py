"""What GHL told us through webhooks, kept next to the ledger in the same database.

The receiver (``ghl_sms.webhooks``) writes here in two steps. Before it answers GHL it
*admits* a verified delivery: its id goes into ``webhook_seen`` (replays are refused
while the id is remembered, by every receiver process sharing the file) and its raw
bytes into ``webhook_inbox``, in one transaction. After the answer a worker processes
the inbox row into the tables below and deletes it; a receiver that died mid-way leaves
the row behind, and another one takes it up once its lease has passed.

    inbound_messages        texts (and other messages) contacts sent us
    message_status_events   status changes of outbound messages; the newest wins
    contact_dnd_events      DND changes GHL reported for a contact
    conversation_unread     the unread count per conversation

Every write is idempotent, so processing an inbox row twice does no harm.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ghl_sms._clock import Clock
from ghl_sms.ops._event_records import (
    Admission,
    DndChange,
    InboundRecord,
    InboxItem,
    StatusEvent,
    UnreadState,
    status_rank,
)
from ghl_sms.ops.storage.sql import Connection, write_transaction
from ghl_sms.ops.storage.sqlite_schema import migrate

__all__ = [
    "Admission",
    "DndChange",
    "EventLog",
    "InboundRecord",
    "InboxItem",
    "StatusEvent",
    "UnreadState",
    "status_rank",
]


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


_INBOX_COLUMNS = (
    "id, webhook_id, event_type, location_id, scheme, event_at, body, received_at, "
    "lease_until, attempts, last_error"
)
_INBOUND_COLUMNS = (
    "message_id, webhook_id, location_id, contact_id, conversation_id, from_number, to_number, "
    "message_type, body, attachments, date_added, keyword, received_at"
)
_STATUS_COLUMNS = (
    "message_id, location_id, status, error_code, error_message, at, source, webhook_id, "
    "received_at"
)
_DND_COLUMNS = (
    "location_id, contact_id, phone, dnd, sms_status, blocks_sms, at, webhook_id, received_at"
)
_UNREAD_COLUMNS = (
    "conversation_id, location_id, contact_id, unread_count, inbox, starred, deleted, at, "
    "updated_at"
)


def _inbox_item(row: Sequence[Any]) -> InboxItem:
    values = list(row)
    values[6] = bytes(values[6])
    return InboxItem(*values)


def _inbound(row: Sequence[Any]) -> InboundRecord:
    values = list(row)
    values[9] = tuple(json.loads(values[9]))
    return InboundRecord(*values)


def _dnd(row: Sequence[Any]) -> DndChange:
    values = list(row)
    values[3] = _bool(values[3])
    values[5] = bool(values[5])
    return DndChange(*values)


def _unread(row: Sequence[Any]) -> UnreadState:
    values = list(row)
    for i in (4, 5, 6):
        values[i] = _bool(values[i])
    return UnreadState(*values)


class EventLog:
    """Webhook deliveries and what they said, over the ledger's connection.

    Build it on the same connection as the ledger (``EventLog(ledger.conn, clock)``) so
    both see one database; several receiver processes may share it.
    """

    def __init__(self, db: Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        if isinstance(db, sqlite3.Connection):
            migrate(db)

    def _transaction(self, locks: Sequence[str] = ()) -> AbstractContextManager[Connection]:
        return write_transaction(self._db, locks)

    # --- deliveries: replay protection and the inbox --------------------------------------

    def admit(
        self,
        *,
        dedupe_key: str,
        forget_at: float,
        event_type: str,
        webhook_id: str | None,
        location_id: str | None,
        scheme: str,
        event_at: float,
        body: bytes | None,
        lease_seconds: float = 60.0,
    ) -> Admission:
        """Remember a verified delivery and queue its ``body`` for processing.

        ``duplicate`` when its key is still remembered (a replay); nothing is written
        then. With ``body=None`` only the key is remembered (an event nobody handles).
        Keys are forgotten after ``forget_at``, which must lie past the replay window.
        """
        now = self._clock.now()
        with self._transaction() as db:
            db.execute("DELETE FROM webhook_seen WHERE forget_at < ?", (now,))
            cursor = db.execute(
                "INSERT INTO webhook_seen (dedupe_key, forget_at) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                (dedupe_key, forget_at),
            )
            if cursor.rowcount == 0:
                return Admission(duplicate=True)
            if body is None:
                return Admission(duplicate=False)
            row = db.execute(
                "INSERT INTO webhook_inbox (webhook_id, event_type, location_id, scheme, "
                "event_at, body, received_at, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    webhook_id, event_type, location_id, scheme, event_at, body, now,
                    now + lease_seconds,
                ),
            ).fetchone()  # fmt: skip
            return Admission(duplicate=False, inbox_id=int(row[0]))

    def seen(self, dedupe_key: str) -> bool:
        """Whether a delivery with this key is remembered (and a replay would be refused)."""
        row = self._db.execute(
            "SELECT 1 FROM webhook_seen WHERE dedupe_key = ? AND forget_at >= ?",
            (dedupe_key, self._clock.now()),
        ).fetchone()
        return row is not None

    def inbox_item(self, inbox_id: int) -> InboxItem | None:
        row = self._db.execute(
            f"SELECT {_INBOX_COLUMNS} FROM webhook_inbox WHERE id = ?", (inbox_id,)
        ).fetchone()
        return _inbox_item(row) if row else None

    def inbox(self) -> list[InboxItem]:
        """Every delivery not processed yet (or whose processing failed), oldest first."""
        rows = self._db.execute(f"SELECT {_INBOX_COLUMNS} FROM webhook_inbox ORDER BY id")
        return [_inbox_item(row) for row in rows]

    def take_abandoned(
        self, *, lease_seconds: float = 60.0, max_attempts: int = 5, limit: int = 100
    ) -> list[int]:
        """Lease inbox rows whose lease has passed (their receiver died or gave up)."""
        now = self._clock.now()
        with self._transaction(["webhook-inbox"]) as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM webhook_inbox WHERE lease_until < ? AND attempts < ? "
                    "ORDER BY id LIMIT ?",
                    (now, max_attempts, limit),
                )
            ]
            db.executemany(
                "UPDATE webhook_inbox SET lease_until = ? WHERE id = ?",
                [(now + lease_seconds, inbox_id) for inbox_id in ids],
            )
        return ids

    def inbox_done(self, inbox_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM webhook_inbox WHERE id = ?", (inbox_id,))

    def inbox_failed(self, inbox_id: int, error: str) -> None:
        """Keep the row for a later attempt (after its lease) and say what went wrong."""
        with self._transaction() as db:
            db.execute(
                "UPDATE webhook_inbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:2000], inbox_id),
            )

    # --- inbound messages -----------------------------------------------------------------

    def record_inbound(
        self,
        *,
        location_id: str,
        message_id: str | None,
        webhook_id: str | None = None,
        contact_id: str | None = None,
        conversation_id: str | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        message_type: str | None = None,
        body: str | None = None,
        attachments: Sequence[str] = (),
        date_added: float | None = None,
        keyword: str | None = None,
    ) -> bool:
        """Store an inbound message; False if one with this message id is stored already."""
        with self._transaction() as db:
            cursor = db.execute(
                f"INSERT INTO inbound_messages ({_INBOUND_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    message_id, webhook_id, location_id, contact_id, conversation_id,
                    from_number, to_number, message_type, body, json.dumps(list(attachments)),
                    date_added, keyword, self._clock.now(),
                ),
            )  # fmt: skip
            return cursor.rowcount == 1

    def has_inbound(self, message_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM inbound_messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return row is not None

    def inbound_messages(
        self,
        location_id: str,
        *,
        contact_id: str | None = None,
        conversation_id: str | None = None,
        limit: int = 50,
    ) -> list[InboundRecord]:
        """Inbound messages, newest first, optionally of one contact or conversation."""
        where = ["location_id = ?"]
        params: list[Any] = [location_id]
        if contact_id is not None:
            where.append("contact_id = ?")
            params.append(contact_id)
        if conversation_id is not None:
            where.append("conversation_id = ?")
            params.append(conversation_id)
        rows = self._db.execute(
            f"SELECT {_INBOUND_COLUMNS} FROM inbound_messages WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(date_added, received_at) DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_inbound(row) for row in rows]

    # --- message status -------------------------------------------------------------------

    def record_status(
        self,
        message_id: str,
        status: str,
        *,
        at: float,
        source: str = "webhook",
        error_code: str | None = None,
        error_message: str | None = None,
        location_id: str | None = None,
        webhook_id: str | None = None,
    ) -> StatusEvent:
        """Add a status report for a message; return the message's newest status.

        Reports arrive out of order, so the newest is the one GHL made last (``at``), and
        of two made at the same instant the one further along (delivered after sent). A
        report repeating a status already stored adds nothing.
        """
        with self._transaction([f"status:{message_id}"]) as db:
            repeated = db.execute(
                "SELECT 1 FROM message_status_events WHERE message_id = ? AND status = ? "
                "AND (error_code = ? OR (error_code IS NULL AND ? IS NULL))",
                (message_id, status, error_code, error_code),
            ).fetchone()
            if repeated is None:
                db.execute(
                    f"INSERT INTO message_status_events ({_STATUS_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (
                        message_id, location_id, status, error_code, error_message, at, source,
                        webhook_id, self._clock.now(),
                    ),
                )  # fmt: skip
        latest = self.latest_status(message_id)
        assert latest is not None
        return latest

    def status_events(self, message_id: str) -> list[StatusEvent]:
        """A message's status reports, oldest first."""
        rows = self._db.execute(
            f"SELECT {_STATUS_COLUMNS} FROM message_status_events WHERE message_id = ? ORDER BY id",
            (message_id,),
        ).fetchall()
        events = [StatusEvent(*row) for row in rows]
        return sorted(events, key=lambda e: (e.at, status_rank(e.status)))

    def latest_status(self, message_id: str) -> StatusEvent | None:
        """The newest status GHL reported for a message, if any (see ``record_status``)."""
        events = self.status_events(message_id)
        return events[-1] if events else None

    # --- DND ------------------------------------------------------------------------------

    def record_dnd(
        self,
        *,
        location_id: str,
        contact_id: str,
        at: float,
        blocks_sms: bool,
        phone: str | None = None,
        dnd: bool | None = None,
        sms_status: str | None = None,
        dnd_settings: Any = None,
        webhook_id: str | None = None,
    ) -> bool:
        """Store a DND change; True if it is the newest known for the contact."""
        with self._transaction([f"dnd:{location_id}:{contact_id}"]) as db:
            newer = db.execute(
                "SELECT 1 FROM contact_dnd_events WHERE location_id = ? AND contact_id = ? "
                "AND at > ?",
                (location_id, contact_id, at),
            ).fetchone()
            db.execute(
                "INSERT INTO contact_dnd_events (location_id, contact_id, phone, dnd, "
                "sms_status, dnd_settings, blocks_sms, at, webhook_id, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    location_id, contact_id, phone, _flag(dnd), sms_status,
                    None if dnd_settings is None else json.dumps(dnd_settings),
                    int(blocks_sms), at, webhook_id, self._clock.now(),
                ),
            )  # fmt: skip
        return newer is None

    def dnd_changes(self, location_id: str, contact_id: str) -> list[DndChange]:
        """A contact's DND changes, oldest first."""
        rows = self._db.execute(
            f"SELECT {_DND_COLUMNS} FROM contact_dnd_events WHERE location_id = ? "
            "AND contact_id = ? ORDER BY at, id",
            (location_id, contact_id),
        )
        return [_dnd(row) for row in rows]

    def lift_opt_outs(
        self,
        location_id: str,
        *,
        source: str,
        phone: str | None = None,
        contact_id: str | None = None,
    ) -> int:
        """Lift the ledger's active opt-outs of one source for a phone or contact.

        ``Ledger.lift_opt_out`` lifts every source; a DND switched off in GHL must only
        undo what a DND switched on, never an opt-out the contact texted.
        """
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE opt_outs SET lifted_at = ? WHERE location_id = ? AND source = ? "
                "AND lifted_at IS NULL AND ((phone IS NOT NULL AND phone = ?) "
                "OR (contact_id IS NOT NULL AND contact_id = ?))",
                (self._clock.now(), location_id, source, phone, contact_id),
            )
            return cursor.rowcount

    # --- unread counts --------------------------------------------------------------------

    def set_unread(
        self,
        *,
        conversation_id: str,
        location_id: str,
        unread_count: int,
        at: float,
        contact_id: str | None = None,
        inbox: bool | None = None,
        starred: bool | None = None,
        deleted: bool | None = None,
    ) -> bool:
        """Store a conversation's unread state unless a newer one is stored; True if stored."""
        with self._transaction() as db:
            cursor = db.execute(
                f"INSERT INTO conversation_unread ({_UNREAD_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET location_id = excluded.location_id, "
                "contact_id = coalesce(excluded.contact_id, conversation_unread.contact_id), "
                "unread_count = excluded.unread_count, inbox = excluded.inbox, "
                "starred = excluded.starred, deleted = excluded.deleted, at = excluded.at, "
                "updated_at = excluded.updated_at WHERE excluded.at >= conversation_unread.at",
                (
                    conversation_id, location_id, contact_id, unread_count, _flag(inbox),
                    _flag(starred), _flag(deleted), at, self._clock.now(),
                ),
            )  # fmt: skip
            return cursor.rowcount == 1

    def unread(self, conversation_id: str) -> UnreadState | None:
        row = self._db.execute(
            f"SELECT {_UNREAD_COLUMNS} FROM conversation_unread WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
        return _unread(row) if row else None
