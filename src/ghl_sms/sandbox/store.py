"""SQLite state of the sandbox: small, explicit query functions over one connection.

Contacts and locations keep their GHL-shaped JSON in a ``data`` column next to the
columns we query on; conversations and messages are plain columns. Nothing here knows
about HTTP, clocks or the carrier.

Opening the file is ``_database``'s job, the row types are in ``_rows``, and the
conversation and message queries in ``_message_store``; this module is the store itself
(transactions, its caches) with the locations, tokens, numbers, contacts and media.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ghl_sms.sandbox._database import SandboxInUseError, connect
from ghl_sms.sandbox._message_store import MessageQueries
from ghl_sms.sandbox._rows import ConversationRow, JsonDict, MessageRow, NumberRow

__all__ = [
    "ConversationRow",
    "MessageRow",
    "NumberRow",
    "SandboxInUseError",
    "SandboxStore",
    "connect",
]


class SandboxStore(MessageQueries):
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
