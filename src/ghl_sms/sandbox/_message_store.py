"""The sandbox's conversations and messages: inserts, reads, the carrier's status
changes, the queue of due messages, and each conversation's last-message summary."""

from __future__ import annotations

import json
import sqlite3

from ghl_sms.sandbox._rows import (
    CONVERSATION_COLUMNS,
    MESSAGE_COLUMNS,
    ConversationRow,
    MessageRow,
    conversation_row,
    message_row,
    with_seq,
)

__all__ = ["MessageQueries"]


class MessageQueries:
    """Part of ``SandboxStore`` (which owns the connection and the caches)."""

    conn: sqlite3.Connection
    _conversation_ids: dict[tuple[str, str], str]  # (location, contact) -> conversation id

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
        return with_seq(conversation, seq)

    def get_conversation(self, conversation_id: str) -> ConversationRow | None:
        row = self.conn.execute(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ? AND deleted = 0",
            (conversation_id,),
        ).fetchone()
        return None if row is None else conversation_row(row)

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
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations"
            " WHERE location_id = ? AND contact_id = ? AND deleted = 0",
            (location_id, contact_id),
        ).fetchone()
        return None if row is None else conversation_row(row)

    def list_conversations(self, location_id: str) -> list[ConversationRow]:
        rows = self.conn.execute(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations"
            " WHERE location_id = ? AND deleted = 0 ORDER BY seq",
            (location_id,),
        ).fetchall()
        return [conversation_row(row) for row in rows]

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
        return with_seq(message, seq)

    def get_message(self, message_id: str) -> MessageRow | None:
        row = self.conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else message_row(row)

    def list_messages(
        self, conversation_id: str, *, before_seq: int | None, limit: int
    ) -> list[MessageRow]:
        """Newest first; ``before_seq`` is the cursor (exclusive)."""
        if before_seq is None:
            rows = self.conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?"
                " ORDER BY seq DESC LIMIT ?",
                (conversation_id, limit),
            ).fetchall()
        else:
            rows = self.conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ?"
                " ORDER BY seq DESC LIMIT ?",
                (conversation_id, before_seq, limit),
            ).fetchall()
        return [message_row(row) for row in rows]

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
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE next_at IS NOT NULL AND next_at <= ?"
            " ORDER BY next_at, seq LIMIT ?",
            (now, limit),
        ).fetchall()
        return [message_row(row) for row in rows]

    def next_due_at(self) -> float | None:
        row = self.conn.execute(
            "SELECT MIN(next_at) FROM messages WHERE next_at IS NOT NULL"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def count_messages(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
