"""The local ledger: no send is lost or doubled.

GHL has no idempotency key, so a send retried after a timeout can text a customer twice.
Every send is recorded here *before* it goes out, under an idempotency key. The record's
``state`` says what we know:

    pending    recorded, the request may be on its way (or the process died)
    sent       GHL accepted it; ``message_id`` is known
    failed     GHL refused it, or it provably never left; nothing was sent
    unknown    it may have reached GHL and no answer came back
    cancelled  a scheduled message, cancelled before it went out

``pending`` and ``unknown`` records are *in doubt*: before anything retries them, the
operations look for the message in the contact's conversation and adopt it if found.
The ledger itself does no I/O but its database (the SQLite file, or PostgreSQL with
``GHL_SMS_DATABASE_URL``); the operations layer does the reconciling.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal

from ghl_sms._clock import Clock
from ghl_sms.ops._ledger_records import (
    DEFAULT_LEASE_SECONDS,
    IN_DOUBT,
    Claim,
    OptOut,
    RepeatSendError,
    SendInProgressError,
    SendRecord,
    SendState,
    derive_idempotency_key,
)
from ghl_sms.ops._ledger_records import (
    text_hash as hash_text,
)
from ghl_sms.ops.storage.sql import (
    Connection,
    dialect,
    is_postgres_url,
    redact_url,
    write_transaction,
)
from ghl_sms.ops.storage.sqlite_schema import migrate

__all__ = [
    "Claim",
    "Ledger",
    "OptOut",
    "RepeatSendError",
    "SendInProgressError",
    "SendRecord",
    "SendState",
    "derive_idempotency_key",
]

_COLUMNS = (
    "id, idempotency_key, key_origin, location_id, contact_id, to_number, text, attachments, "
    "from_number, scheduled_at, state, message_id, conversation_id, status, error_code, "
    "error_message, attempts, lease_until, campaign_id, created_at, updated_at, template, "
    "contact_name"
)


def _record(row: Sequence[Any]) -> SendRecord:
    values = list(row)
    values[7] = tuple(json.loads(values[7]))
    values[10] = SendState(values[10])
    return SendRecord(*values)


class Ledger:
    """The ledger over one connection: an SQLite file (safe for several processes on one
    machine) or PostgreSQL (``Ledger.open("postgresql://...")``, shared by machines)."""

    def __init__(self, db: Connection, clock: Clock, *, where: str | None = None) -> None:
        self._db = db
        self._clock = clock
        self.dialect = dialect(db)
        if isinstance(db, sqlite3.Connection):
            migrate(db)  # one user's file: brought up to date as it opens
        else:
            # A shared database changes schema only by `ghl-sms db upgrade`.
            from ghl_sms.ops.storage.schema import check

            check(db, where or "given")

    @classmethod
    def open(cls, path: str | Path, clock: Clock) -> Ledger:
        """Open the ledger at ``path``: a file, created only where no file exists
        (``":memory:"`` for tests), or a ``postgresql://`` URL.

        Raises ``ghl_sms.ops.errors.LedgerUnusable`` for a file that is not a ghl-sms
        ledger (empty, not SQLite, damaged, another program's) or cannot be created; such
        a file is never modified. For PostgreSQL: when the ``postgres`` extra is
        missing, the server can't be reached, or the schema is not this version's
        (``SchemaOutdated``: run ``ghl-sms db upgrade``).
        """
        if is_postgres_url(str(path)):
            from ghl_sms.ops.storage.postgres import connect

            conn = connect(str(path))
            try:
                return cls(conn, clock, where=redact_url(str(path)))
            except BaseException:
                conn.close()
                raise
        # Imported here: ops.errors imports this module for its send errors.
        from ghl_sms.ops.storage.sqlite import connect_ledger

        return cls(connect_ledger(path, migrate), clock)

    @property
    def conn(self) -> Connection:
        """The connection, for the stores that share the ledger's database (``ops.events``,
        the bulk store, budgets, leases): either backend."""
        return self._db

    @property
    def db(self) -> sqlite3.Connection:
        """The SQLite connection, for what reads the file directly (the console)."""
        if not isinstance(self._db, sqlite3.Connection):
            from ghl_sms.ops.errors import LedgerUnusable

            raise LedgerUnusable(
                "This needs the local ledger file; it is not available with "
                "GHL_SMS_DATABASE_URL (PostgreSQL)."
            )
        return self._db

    def close(self) -> None:
        self._db.close()

    def _transaction(self, locks: Sequence[str] = ()) -> AbstractContextManager[Connection]:
        return write_transaction(self._db, locks)

    # --- reading --------------------------------------------------------------------------

    def get(self, idempotency_key: str) -> SendRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE idempotency_key = ?", (idempotency_key,)
        ).fetchone()
        return _record(row) if row else None

    def get_by_id(self, record_id: int) -> SendRecord:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None:
            raise KeyError(record_id)
        return _record(row)

    def by_message_id(self, message_id: str) -> SendRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE message_id = ? ORDER BY id DESC LIMIT 1",
            (message_id,),
        ).fetchone()
        return _record(row) if row else None

    def in_doubt(self, location_id: str) -> list[SendRecord]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE location_id = ? AND state IN (?, ?) ORDER BY id",
            (location_id, *IN_DOUBT),
        ).fetchall()
        return [_record(r) for r in rows]

    def scheduled(self, location_id: str) -> list[SendRecord]:
        """Scheduled messages that have not gone out or been cancelled, soonest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE location_id = ? AND scheduled_at IS NOT NULL "
            "AND state IN ('sent', 'pending', 'unknown') AND coalesce(status, 'scheduled') "
            "= 'scheduled' ORDER BY scheduled_at",
            (location_id,),
        ).fetchall()
        return [_record(r) for r in rows]

    def recent(self, location_id: str, limit: int = 20) -> list[SendRecord]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE location_id = ? ORDER BY id DESC LIMIT ?",
            (location_id, limit),
        ).fetchall()
        return [_record(r) for r in rows]

    def search(
        self,
        location_id: str,
        *,
        contact_id: str | None = None,
        to_number: str | None = None,
        campaign_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> Iterator[SendRecord]:
        """The location's sends, newest first, narrowed by every filter given
        (``since``/``until``: when the send was recorded, both ends included)."""
        where = ["location_id = ?"]
        params: list[Any] = [location_id]
        for column, value in (
            ("contact_id = ?", contact_id),
            ("to_number = ?", to_number),
            ("campaign_id = ?", campaign_id),
            ("created_at >= ?", since),
            ("created_at <= ?", until),
        ):
            if value is not None:
                where.append(column)
                params.append(value)
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, id DESC",
            params,
        )
        for row in cursor:
            yield _record(row)

    # --- claiming a send ------------------------------------------------------------------

    def claim(
        self,
        *,
        idempotency_key: str,
        key_origin: Literal["caller", "derived"],
        location_id: str,
        contact_id: str | None,
        to_number: str | None,
        text: str,
        attachments: Sequence[str] = (),
        from_number: str | None = None,
        scheduled_at: float | None = None,
        repeat_window: float = 600.0,
        allow_repeat: bool = False,
        campaign_id: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        template: str | None = None,
        contact_name: str | None = None,
    ) -> Claim:
        """Record a send before it goes out, or say why it must not go out as new.

        Raises ``RepeatSendError`` (the same text to the same recipient within
        ``repeat_window`` under another key, unless ``allow_repeat``) and
        ``SendInProgressError`` (another worker holds the lease on this key).
        ``template``: the text as the caller gave it, when merge fields changed it.
        ``contact_name``: the recipient's name, kept for the history.
        """
        now = self._clock.now()
        text_hash = hash_text(text, attachments)
        # PostgreSQL runs writers side by side: the key, and (for the repeat guard) the
        # same text in this location, are claimed by one transaction at a time.
        locks = [f"send:{idempotency_key}", f"text:{location_id}:{text_hash}"]
        with self._transaction(locks) as db:
            existing = self.get(idempotency_key)
            if existing is not None:
                decided = self._decide_existing(
                    existing, now, key_origin, repeat_window, allow_repeat, lease_seconds
                )
                if decided is not None and decided.kind == "new" and existing.text != text:
                    # A failed send retried: record the text this attempt sends (merge
                    # fields may render differently now), for the lookup after a lost answer.
                    row = db.execute(
                        "UPDATE sends SET text = ?, text_hash = ?, template = ? WHERE id = ? "
                        f"RETURNING {_COLUMNS}",
                        (text, text_hash, template if template != text else None, existing.id),
                    ).fetchone()
                    decided = Claim("new", _record(row))
                if decided is not None:
                    return decided
            if not allow_repeat:
                previous = self._recent_same_text(
                    location_id, contact_id, to_number, text_hash, now - repeat_window
                )
                if previous is not None:
                    raise RepeatSendError(previous, repeat_window)
            row = db.execute(
                """
                INSERT INTO sends (idempotency_key, key_origin, location_id, contact_id,
                    to_number, text, text_hash, attachments, from_number, scheduled_at, state,
                    attempts, lease_until, campaign_id, created_at, updated_at, template,
                    contact_name)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?, ?, ?)
                RETURNING """
                + _COLUMNS,
                (
                    idempotency_key, key_origin, location_id, contact_id, to_number, text,
                    text_hash, json.dumps(list(attachments)), from_number, scheduled_at,
                    now + lease_seconds, campaign_id, now, now,
                    template if template != text else None, contact_name,
                ),
            ).fetchone()  # fmt: skip
            return Claim("new", _record(row))

    def _decide_existing(
        self,
        existing: SendRecord,
        now: float,
        key_origin: str,
        repeat_window: float,
        allow_repeat: bool,
        lease_seconds: float,
    ) -> Claim | None:
        """Decide for a key seen before; None means: archive it and record a new send."""
        if existing.in_doubt:
            if existing.lease_until is not None and existing.lease_until > now:
                raise SendInProgressError(existing)
            return Claim("in_doubt", self._take_lease(existing.id, now + lease_seconds))
        if existing.state == SendState.FAILED:
            # Nothing went out last time; this is a fresh attempt under the same key.
            row = self._db.execute(
                "UPDATE sends SET state = 'pending', attempts = attempts + 1, lease_until = ?, "
                "error_code = NULL, error_message = NULL, updated_at = ? WHERE id = ? "
                f"RETURNING {_COLUMNS}",
                (now + lease_seconds, now, existing.id),
            ).fetchone()
            return Claim("new", _record(row))
        # sent or cancelled
        derived_and_stale = key_origin == "derived" and (
            allow_repeat or existing.created_at < now - repeat_window
        )
        if not derived_and_stale:
            return Claim("duplicate", existing)
        # A derived key only stands for "the same send, retried": once the window has
        # passed (or the caller says the repeat is intended) the same text is a new send.
        self._db.execute(
            "UPDATE sends SET idempotency_key = idempotency_key || '#' || id WHERE id = ?",
            (existing.id,),
        )
        return None

    def _take_lease(self, record_id: int, until: float) -> SendRecord:
        row = self._db.execute(
            "UPDATE sends SET lease_until = ?, attempts = attempts + 1, updated_at = ? "
            f"WHERE id = ? RETURNING {_COLUMNS}",
            (until, self._clock.now(), record_id),
        ).fetchone()
        return _record(row)

    def _recent_same_text(
        self,
        location_id: str,
        contact_id: str | None,
        to_number: str | None,
        text_hash: str,
        since: float,
    ) -> SendRecord | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM sends WHERE location_id = ? AND text_hash = ? "
            "AND created_at >= ? AND state IN ('pending', 'sent', 'unknown') "
            "AND ((contact_id IS NOT NULL AND contact_id = ?) "
            "OR (to_number IS NOT NULL AND to_number = ?)) ORDER BY id DESC LIMIT 1",
            (location_id, text_hash, since, contact_id, to_number),
        ).fetchone()
        return _record(row) if row else None

    # --- outcomes -------------------------------------------------------------------------

    def _update(self, record_id: int, **fields: Any) -> SendRecord:
        """One UPDATE, atomic alone (no BEGIN/COMMIT around it), and the row as it wrote
        it (``RETURNING``: no read after it)."""
        fields["updated_at"] = self._clock.now()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        row = self._db.execute(
            f"UPDATE sends SET {assignments} WHERE id = ? RETURNING {_COLUMNS}",
            (*fields.values(), record_id),
        ).fetchone()
        if row is None:
            raise KeyError(record_id)
        return _record(row)

    def set_recipient(self, record_id: int, *, contact_id: str, to_number: str | None) -> None:
        self._update(record_id, contact_id=contact_id, to_number=to_number)

    def mark_sent(
        self, record_id: int, *, message_id: str, conversation_id: str | None, status: str | None
    ) -> SendRecord:
        return self._update(
            record_id,
            state=SendState.SENT.value,
            message_id=message_id,
            conversation_id=conversation_id,
            status=status,
            lease_until=None,
            error_code=None,
            error_message=None,
        )

    def mark_failed(
        self, record_id: int, *, error_code: str | None, error_message: str
    ) -> SendRecord:
        return self._update(
            record_id,
            state=SendState.FAILED.value,
            error_code=error_code,
            error_message=error_message,
            lease_until=None,
        )

    def mark_unknown(self, record_id: int, *, error_message: str) -> SendRecord:
        # The lease is dropped so that the next attempt reconciles at once.
        return self._update(
            record_id, state=SendState.UNKNOWN.value, error_message=error_message, lease_until=None
        )

    def release(self, record_id: int) -> SendRecord:
        """Give up the lease on an in-doubt record without deciding it."""
        return self._update(record_id, lease_until=None)

    def mark_cancelled(self, message_id: str) -> SendRecord | None:
        record = self.by_message_id(message_id)
        if record is None:
            return None
        return self._update(record.id, state=SendState.CANCELLED.value, status="cancelled")

    def update_status(
        self,
        message_id: str,
        status: str,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> SendRecord | None:
        """Record a delivery status learned from GHL (webhook, watcher or a status call)."""
        record = self.by_message_id(message_id)
        if record is None:
            return None
        fields: dict[str, Any] = {"status": status}
        if error_code is not None or error_message is not None:
            fields.update(error_code=error_code, error_message=error_message)
        return self._update(record.id, **fields)

    # --- opt-outs -------------------------------------------------------------------------

    def record_opt_out(
        self,
        location_id: str,
        *,
        phone: str | None = None,
        contact_id: str | None = None,
        source: str,
        detail: str | None = None,
    ) -> None:
        if not phone and not contact_id:
            raise ValueError("an opt-out needs a phone or a contact id")
        with self._transaction([f"opt-out:{location_id}"]) as db:
            if self.opt_out_for(location_id, phone=phone, contact_id=contact_id) is not None:
                return
            db.execute(
                "INSERT INTO opt_outs (location_id, phone, contact_id, source, detail, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (location_id, phone, contact_id, source, detail, self._clock.now()),
            )

    def lift_opt_out(
        self, location_id: str, *, phone: str | None = None, contact_id: str | None = None
    ) -> int:
        """Lift every active opt-out matching the phone or contact; return how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE opt_outs SET lifted_at = ? WHERE location_id = ? AND lifted_at IS NULL "
                "AND ((phone IS NOT NULL AND phone = ?) "
                "OR (contact_id IS NOT NULL AND contact_id = ?))",
                (self._clock.now(), location_id, phone, contact_id),
            )
            return cursor.rowcount

    def opt_out_for(
        self, location_id: str, *, phone: str | None = None, contact_id: str | None = None
    ) -> OptOut | None:
        """The active opt-out for this phone or contact, if any."""
        row = self._db.execute(
            "SELECT location_id, phone, contact_id, source, detail, created_at FROM opt_outs "
            "WHERE location_id = ? AND lifted_at IS NULL AND ((phone IS NOT NULL AND phone = ?) "
            "OR (contact_id IS NOT NULL AND contact_id = ?)) ORDER BY id DESC LIMIT 1",
            (location_id, phone, contact_id),
        ).fetchone()
        return OptOut(*row) if row else None
