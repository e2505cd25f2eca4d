"""SQLite state of the sandbox: small, explicit query functions over one connection.

Contacts and locations keep their GHL-shaped JSON in a ``data`` column next to the
columns we query on; conversations and messages are plain columns. Nothing here knows
about HTTP, clocks or the carrier.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ghl_sms.sandbox.migrations import migrate

__all__ = [
    "ConversationRow",
    "MessageRow",
    "NumberRow",
    "SandboxInUseError",
    "SandboxStore",
    "connect",
]

JsonDict = dict[str, Any]


def connect(path: str) -> sqlite3.Connection:
    """Open (and migrate) the sandbox database; ``":memory:"`` for a throwaway one."""
    # check_same_thread=False: TestClient and schemathesis run the app on a portal thread;
    # SandboxStore serialises access with its own lock.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.2)
    try:
        _refuse_a_foreign_database(conn, path)  # before any PRAGMA rewrites its header
        if path != ":memory:":
            # One sandbox owns the file (its caches assume so): exclusive locking makes a
            # second one fail fast instead of corrupting ids, and spares WAL's shared-memory
            # locks. synchronous=OFF: no fsync, ever. A crash of the sandbox loses nothing;
            # a power cut may break the file, which is disposable (delete it to start over).
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise SandboxInUseError(
                f"{path} is in use by another sandbox (is `ghl-sms sandbox` running on it?); "
                "stop that one or use another database file"
            ) from exc
        raise
    return conn


class ForeignDatabaseError(sqlite3.DatabaseError):
    """The file is an SQLite database of some other program: never adopt or change it."""


def _refuse_a_foreign_database(conn: sqlite3.Connection, path: str) -> None:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and "_migrations" not in tables:
        raise ForeignDatabaseError(f"{path} holds another program's tables, not a sandbox's")


class SandboxInUseError(RuntimeError):
    """Another process holds the sandbox database."""


@dataclass(frozen=True, slots=True)
class NumberRow:
    location_id: str
    phone: str
    data: JsonDict
    sms: bool
    mms: bool
    a2p_registered: bool
    is_default: bool


@dataclass(frozen=True, slots=True)
class ConversationRow:
    seq: int
    id: str
    location_id: str
    contact_id: str
    unread_count: int
    inbox: bool
    starred: bool
    deleted: bool
    last_message_body: str | None
    last_message_type: str | None
    last_message_direction: str | None
    last_message_date: float | None
    date_added: float
    date_updated: float


@dataclass(frozen=True, slots=True)
class MessageRow:
    seq: int
    id: str
    location_id: str
    conversation_id: str
    contact_id: str
    direction: str
    body: str
    attachments: list[str]
    status: str
    error_code: str | None
    planned_status: str | None
    planned_code: str | None
    from_number: str | None
    to_number: str | None
    source: str | None
    date_added: float
    scheduled_at: float | None
    next_at: float | None


_CONVERSATION_COLUMNS = (
    "seq, id, location_id, contact_id, unread_count, inbox, starred, deleted, "
    "last_message_body, last_message_type, last_message_direction, last_message_date, "
    "date_added, date_updated"
)
_MESSAGE_COLUMNS = (
    "seq, id, location_id, conversation_id, contact_id, direction, body, attachments, status, "
    "error_code, planned_status, planned_code, from_number, to_number, source, date_added, "
    "scheduled_at, next_at"
)


def _conversation(row: tuple[Any, ...]) -> ConversationRow:
    # inbox, starred and deleted are stored as 0/1
    return ConversationRow(*row[:5], *(bool(flag) for flag in row[5:8]), *row[8:])


def _message(row: tuple[Any, ...]) -> MessageRow:
    return MessageRow(*row[:7], *[json.loads(row[7])], *row[8:])  # attachments are JSON


class SandboxStore:
    """All reads and writes of the sandbox state. Thread-safe through one re-entrant lock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        # Read caches for the send path. This store is the database's only writer (the file
        # is opened with an exclusive lock), so they cannot go stale. Cached contacts are
        # shared: callers must copy before changing one.
        self._contacts: dict[str, JsonDict] = {}
        self._conversation_ids: dict[tuple[str, str], str] = {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self.conn.in_transaction:  # nested: join the outer transaction
                yield
                return
            self.conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                self.forget()  # the caches may hold rows that were just rolled back
                raise
            self.conn.execute("COMMIT")

    def forget(self) -> None:
        """Drop the read caches (they refill from the database)."""
        self._contacts.clear()
        self._conversation_ids.clear()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def wipe(self) -> None:
        """Delete every row of every table (the schema stays)."""
        self.forget()
        with self.transaction():
            for table in (
                "media",
                "messages",
                "conversations",
                "contacts",
                "numbers",
                "tokens",
                "locations",
                "meta",
            ):
                self.conn.execute(f"DELETE FROM {table}")  # fixed table names, not input

    # -- locations, tokens, numbers -----------------------------------------------------

    def insert_location(self, location: JsonDict) -> None:
        self.conn.execute(
            "INSERT INTO locations (id, data) VALUES (?, ?)",
            (location["id"], json.dumps(location)),
        )

    def get_location(self, location_id: str) -> JsonDict | None:
        row = self.conn.execute(
            "SELECT data FROM locations WHERE id = ?", (location_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def list_locations(self) -> list[JsonDict]:
        rows = self.conn.execute("SELECT data FROM locations ORDER BY rowid").fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    def insert_token(self, token: str, location_id: str, scopes: list[str]) -> None:
        self.conn.execute(
            "INSERT INTO tokens (token, location_id, scopes) VALUES (?, ?, ?)",
            (token, location_id, " ".join(scopes)),
        )

    def get_token(self, token: str) -> tuple[str, frozenset[str]] | None:
        row = self.conn.execute(
            "SELECT location_id, scopes FROM tokens WHERE token = ?", (token,)
        ).fetchone()
        if row is None:
            return None
        return str(row[0]), frozenset(str(row[1]).split())

    def list_tokens(self) -> list[tuple[str, str, list[str]]]:
        rows = self.conn.execute(
            "SELECT token, location_id, scopes FROM tokens ORDER BY rowid"
        ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2]).split()) for r in rows]

    def insert_number(self, number: NumberRow) -> None:
        self.conn.execute(
            "INSERT INTO numbers (location_id, phone, data, sms, mms, a2p_registered, is_default)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                number.location_id,
                number.phone,
                json.dumps(number.data),
                int(number.sms),
                int(number.mms),
                int(number.a2p_registered),
                int(number.is_default),
            ),
        )

    def list_numbers(self, location_id: str) -> list[NumberRow]:
        rows = self.conn.execute(
            "SELECT location_id, phone, data, sms, mms, a2p_registered, is_default "
            "FROM numbers WHERE location_id = ? ORDER BY rowid",
            (location_id,),
        ).fetchall()
        return [
            NumberRow(r[0], r[1], json.loads(r[2]), bool(r[3]), bool(r[4]), bool(r[5]), bool(r[6]))
            for r in rows
        ]

    # -- contacts -----------------------------------------------------------------------

    def insert_contact(self, contact: JsonDict) -> None:
        self.conn.execute(
            "INSERT INTO contacts (id, location_id, phone, email, data) VALUES (?, ?, ?, ?, ?)",
            (
                contact["id"],
                contact["locationId"],
                contact.get("phone"),
                _lower(contact.get("email")),
                json.dumps(contact),
            ),
        )
        self._contacts[contact["id"]] = contact

    def update_contact(self, contact: JsonDict) -> None:
        self.conn.execute(
            "UPDATE contacts SET phone = ?, email = ?, data = ? WHERE id = ?",
            (
                contact.get("phone"),
                _lower(contact.get("email")),
                json.dumps(contact),
                contact["id"],
            ),
        )
        self._contacts[contact["id"]] = contact

    def delete_contact(self, contact_id: str) -> None:
        self.conn.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
        self._contacts.pop(contact_id, None)

    def get_contact(self, contact_id: str) -> JsonDict | None:
        """The contact (shared with the cache: copy it before changing it)."""
        cached = self._contacts.get(contact_id)
        if cached is not None:
            return cached
        row = self.conn.execute("SELECT data FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if row is None:
            return None
        contact: JsonDict = json.loads(row[0])
        self._contacts[contact_id] = contact
        return contact

    def find_contacts(
        self, location_id: str, *, phone: str | None = None, email: str | None = None
    ) -> list[JsonDict]:
        if phone is not None:
            rows = self.conn.execute(
                "SELECT data FROM contacts WHERE location_id = ? AND phone = ? ORDER BY seq",
                (location_id, phone),
            ).fetchall()
        elif email is not None:
            rows = self.conn.execute(
                "SELECT data FROM contacts WHERE location_id = ? AND email = ? ORDER BY seq",
                (location_id, email.lower()),
            ).fetchall()
        else:
            rows = self.conn.execute(
                "SELECT data FROM contacts WHERE location_id = ? ORDER BY seq", (location_id,)
            ).fetchall()
        return [dict(json.loads(row[0])) for row in rows]

    def count_contacts(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])

    # -- conversations ------------------------------------------------------------------

    def insert_conversation(self, conversation: ConversationRow) -> ConversationRow:
        cursor = self.conn.execute(
            "INSERT INTO conversations (id, location_id, contact_id, unread_count, inbox, starred,"
            " deleted, last_message_body, last_message_type, last_message_direction,"
            " last_message_date, date_added, date_updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id,
                conversation.location_id,
                conversation.contact_id,
                conversation.unread_count,
                int(conversation.inbox),
                int(conversation.starred),
                int(conversation.deleted),
                conversation.last_message_body,
                conversation.last_message_type,
                conversation.last_message_direction,
                conversation.last_message_date,
                conversation.date_added,
                conversation.date_updated,
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        return _replace_seq(conversation, seq)

    def get_conversation(self, conversation_id: str) -> ConversationRow | None:
        row = self.conn.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ? AND deleted = 0",
            (conversation_id,),
        ).fetchone()
        return None if row is None else _conversation(row)

    def conversation_id_for_contact(self, location_id: str, contact_id: str) -> str | None:
        key = (location_id, contact_id)
        cached = self._conversation_ids.get(key)
        if cached is not None:
            return cached
        row = self.conn.execute(
            "SELECT id FROM conversations WHERE location_id = ? AND contact_id = ? AND deleted = 0",
            key,
        ).fetchone()
        if row is None:
            return None
        self._conversation_ids[key] = str(row[0])
        return str(row[0])

    def conversation_for_contact(self, location_id: str, contact_id: str) -> ConversationRow | None:
        row = self.conn.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE location_id = ? AND contact_id = ? AND deleted = 0",
            (location_id, contact_id),
        ).fetchone()
        return None if row is None else _conversation(row)

    def list_conversations(self, location_id: str) -> list[ConversationRow]:
        rows = self.conn.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE location_id = ? AND deleted = 0 ORDER BY seq",
            (location_id,),
        ).fetchall()
        return [_conversation(row) for row in rows]

    def record_last_message(
        self,
        conversation_id: str,
        *,
        body: str,
        type_: str,
        direction: str,
        date: float,
        unread_delta: int,
    ) -> None:
        self.conn.execute(
            "UPDATE conversations SET last_message_body = ?, last_message_type = ?,"
            " last_message_direction = ?, last_message_date = ?, date_updated = ?,"
            " unread_count = unread_count + ? WHERE id = ?",
            (body, type_, direction, date, date, unread_delta, conversation_id),
        )

    def update_conversation(
        self,
        conversation_id: str,
        *,
        unread_count: int | None,
        starred: bool | None,
        date_updated: float,
    ) -> None:
        self.conn.execute(
            "UPDATE conversations SET unread_count = COALESCE(?, unread_count),"
            " starred = COALESCE(?, starred), date_updated = ? WHERE id = ?",
            (
                unread_count,
                None if starred is None else int(starred),
                date_updated,
                conversation_id,
            ),
        )

    def delete_conversation(self, conversation_id: str) -> None:
        self.conn.execute("UPDATE conversations SET deleted = 1 WHERE id = ?", (conversation_id,))
        self._conversation_ids = {
            k: v for k, v in self._conversation_ids.items() if v != conversation_id
        }

    # -- messages -----------------------------------------------------------------------

    def insert_message(self, message: MessageRow) -> MessageRow:
        cursor = self.conn.execute(
            "INSERT INTO messages (id, location_id, conversation_id, contact_id, direction, body,"
            " attachments, status, error_code, planned_status, planned_code, from_number,"
            " to_number, source, date_added, scheduled_at, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.id,
                message.location_id,
                message.conversation_id,
                message.contact_id,
                message.direction,
                message.body,
                json.dumps(message.attachments),
                message.status,
                message.error_code,
                message.planned_status,
                message.planned_code,
                message.from_number,
                message.to_number,
                message.source,
                message.date_added,
                message.scheduled_at,
                message.next_at,
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        return _replace_seq(message, seq)

    def get_message(self, message_id: str) -> MessageRow | None:
        row = self.conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else _message(row)

    def list_messages(
        self, conversation_id: str, *, before_seq: int | None, limit: int
    ) -> list[MessageRow]:
        """Newest first; ``before_seq`` is the cursor (exclusive)."""
        if before_seq is None:
            rows = self.conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?"
                " ORDER BY seq DESC LIMIT ?",
                (conversation_id, limit),
            ).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ?"
                " ORDER BY seq DESC LIMIT ?",
                (conversation_id, before_seq, limit),
            ).fetchall()
        return [_message(row) for row in rows]

    def set_message_status(
        self,
        message_id: str,
        *,
        status: str,
        error_code: str | None,
        next_at: float | None,
        planned_status: str | None = None,
        planned_code: str | None = None,
        replan: bool = False,
    ) -> None:
        if replan:
            self.conn.execute(
                "UPDATE messages SET status = ?, error_code = ?, next_at = ?,"
                " planned_status = ?, planned_code = ? WHERE id = ?",
                (status, error_code, next_at, planned_status, planned_code, message_id),
            )
        else:
            self.conn.execute(
                "UPDATE messages SET status = ?, error_code = ?, next_at = ? WHERE id = ?",
                (status, error_code, next_at, message_id),
            )

    def due_messages(self, now: float, limit: int = 500) -> list[MessageRow]:
        rows = self.conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE next_at IS NOT NULL AND next_at <= ?"
            " ORDER BY next_at, seq LIMIT ?",
            (now, limit),
        ).fetchall()
        return [_message(row) for row in rows]

    def next_due_at(self) -> float | None:
        row = self.conn.execute(
            "SELECT MIN(next_at) FROM messages WHERE next_at IS NOT NULL"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def count_messages(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    # -- media --------------------------------------------------------------------------

    def insert_media(
        self, media_id: str, location_id: str, filename: str, content_type: str, data: bytes
    ) -> None:
        self.conn.execute(
            "INSERT INTO media (id, location_id, filename, content_type, data)"
            " VALUES (?, ?, ?, ?, ?)",
            (media_id, location_id, filename, content_type, data),
        )

    def get_media(self, media_id: str) -> tuple[str, str, bytes] | None:
        row = self.conn.execute(
            "SELECT filename, content_type, data FROM media WHERE id = ?", (media_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), bytes(row[2]))


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


_Row = TypeVar("_Row", ConversationRow, MessageRow)


def _replace_seq(row: _Row, seq: int) -> _Row:
    return replace(row, seq=seq)
