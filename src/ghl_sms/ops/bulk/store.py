"""Where campaigns and their recipients live: ``CampaignStore`` and its SQLite version.

Recipients are rows with a state and a ``not_before``; a pump claims the due ones of its
location (``pending``/``deferred`` -> ``sending``) and writes each outcome back. The
store never talks to GHL and never decides anything but the bookkeeping; exactly-once
lives in the ledger, under each recipient's idempotency key.

A PostgreSQL store implements the same protocol: ``claim_due`` becomes one
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, the rest is plain SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ghl_sms._clock import Clock
from ghl_sms.ops._sqlite import write_transaction
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignState,
    NewRecipient,
    Recipient,
    RecipientState,
    SkipReason,
)
from ghl_sms.ops.bulk.report import ReportRow, Resolved, read_report

__all__ = [
    "CANCELLED_REASON",
    "CampaignStore",
    "ImportCounts",
    "SqliteCampaignStore",
    "recipient_key",
]


CANCELLED_REASON = "The campaign was cancelled before this recipient was texted."


def recipient_key(campaign_id: str, seq: int) -> str:
    """The recipient's idempotency key in the ledger: stable across every resume."""
    return f"bulk:{campaign_id}:{seq}"


ImportCounts = dict[str, int]
"""Rows imported by outcome: ``pending`` plus one entry per skip reason code."""


class CampaignStore(Protocol):
    """The campaign bookkeeping a pump, the engine and ``bulk status`` need."""

    # campaigns
    def create_campaign(self, campaign: Campaign) -> None: ...
    def get_campaign(self, campaign_id: str) -> Campaign | None: ...
    def list_campaigns(self, location_id: str | None = None) -> list[Campaign]: ...
    def running_campaigns(self, location_id: str) -> list[Campaign]: ...
    def locations_with_running(self) -> list[str]: ...
    def set_state(
        self,
        campaign_id: str,
        state: CampaignState,
        *,
        reason: str | None = None,
        only_from: Sequence[CampaignState] | None = None,
    ) -> Campaign | None:
        """Move to ``state`` (if now in one of ``only_from``); None when it didn't move."""
        ...

    def set_waiting(self, campaign_id: str, reason: str | None, until: float | None) -> None: ...
    def set_total(self, campaign_id: str, total: int) -> None: ...
    def set_caps(self, campaign_id: str, caps: Mapping[str, Any]) -> None: ...
    def delete_campaign(self, campaign_id: str) -> None: ...

    # recipients
    def add_recipients(
        self, campaign_id: str, first_seq: int, rows: Sequence[NewRecipient]
    ) -> ImportCounts:
        """Store a batch; a phone or contact already in the campaign is a duplicate."""
        ...

    def claim_due(self, campaign_ids: Sequence[str], now: float, limit: int) -> list[Recipient]:
        """Take up to ``limit`` due recipients (``not_before <= now``) as ``sending``."""
        ...

    def sending(self, campaign_ids: Sequence[str]) -> list[Recipient]:
        """Recipients left ``sending`` (by a pump that died), to settle from the ledger."""
        ...

    def finish(
        self,
        recipient_id: int,
        state: RecipientState,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        message_id: str | None = None,
        not_before: float | None = None,
        tried: bool = False,
        resolved: Resolved | None = None,
    ) -> None:
        """Record an outcome (or send it back to ``pending``/``deferred``); ``tried``
        counts a transient failure against ``max_attempts``; ``resolved``: who the row
        turned out to be when it was looked up."""
        ...

    def count_attempt(self, recipient_id: int) -> None:
        """A send request for it is about to go to GHL (counted before, so a crash
        after it still counts)."""
        ...

    def report(self, campaign_id: str) -> Iterator[ReportRow]:
        """``bulk report``'s rows in list order (streamed)."""
        ...

    def defer_due(
        self, campaign_id: str, until: float, reason_code: str, reason: str, now: float
    ) -> int:
        """Move every open recipient due before ``until`` to ``until`` (a daily cap);
        return how many of them were ``pending`` (the rest were already deferred)."""
        ...

    def cancel_open(self, campaign_id: str, reason: str) -> int: ...
    def skip_open(self, campaign_id: str, code: str, reason: str) -> int:
        """Skip every recipient still waiting (pending or deferred) with this reason."""
        ...

    def next_due(self, campaign_id: str) -> tuple[float, str | None] | None:
        """The earliest open recipient's ``not_before`` and why it waits, if any is open."""
        ...

    def has_open(self, campaign_id: str) -> bool: ...
    def open_summary(self, campaign_id: str) -> tuple[int, int, float | None]:
        """Recipients not done (pending, sending, deferred), how many of them are given
        by number only, and the latest ``not_before`` among them."""
        ...

    def counts(self, campaign_id: str) -> dict[tuple[str, str | None], int]: ...
    def reason_example(self, campaign_id: str, state: str, code: str) -> str | None: ...
    def sent_since(self, campaign_id: str, since: float) -> int: ...
    def iter_recipients(
        self, campaign_id: str, *, states: Sequence[str] | None = None, batch: int = 1000
    ) -> Iterator[Recipient]: ...


_CAMPAIGN_COLUMNS = (
    "id, location_id, name, template, attachments, from_number, transactional, quiet_hours, "
    "caps, max_attempts, source, state, state_reason, waiting_reason, waiting_until, total, "
    "created_at, started_at, finished_at, updated_at"
)
_RECIPIENT_COLUMNS = (
    "id, campaign_id, seq, contact_id, phone, fields, state, reason_code, reason, not_before, "
    "idempotency_key, message_id, attempts, updated_at, tries"
)
_OPEN = "('pending', 'deferred')"
# Open recipients in list order (migration m006): claim_due scans it, skipping the not
# yet due.
_OPEN_BY_SEQ = "bulk_recipients_open_seq"
_UNFINISHED = "('pending', 'deferred', 'sending')"


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _campaign(row: Sequence[Any]) -> Campaign:
    return Campaign(
        id=row[0],
        location_id=row[1],
        name=row[2],
        template=row[3],
        attachments=json.loads(row[4]),
        from_number=row[5],
        transactional=bool(row[6]),
        quiet_hours=row[7],
        caps=json.loads(row[8]),
        max_attempts=row[9],
        source=row[10],
        state=CampaignState(row[11]),
        state_reason=row[12],
        waiting_reason=row[13],
        waiting_until=_dt(row[14]),
        total=row[15],
        created_at=datetime.fromtimestamp(row[16], UTC),
        started_at=_dt(row[17]),
        finished_at=_dt(row[18]),
        updated_at=datetime.fromtimestamp(row[19], UTC),
    )


def _recipient(row: Sequence[Any]) -> Recipient:
    return Recipient(
        id=row[0],
        campaign_id=row[1],
        seq=row[2],
        contact_id=row[3],
        phone=row[4],
        fields=json.loads(row[5]),
        state=RecipientState(row[6]),
        reason_code=row[7],
        reason=row[8],
        not_before=row[9],
        idempotency_key=row[10],
        message_id=row[11],
        attempts=row[12],
        updated_at=row[13],
        tries=row[14],
    )


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class SqliteCampaignStore:
    """Campaigns in the ledger's SQLite file (migrations ``m003_bulk_campaigns`` and
    ``m006_bulk_claims_and_open_index``)."""

    def __init__(self, db: sqlite3.Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _write(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        with write_transaction(self._db) as db:
            return db.execute(sql, params).rowcount

    # --- campaigns ------------------------------------------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        self._write(
            f"INSERT INTO bulk_campaigns ({_CAMPAIGN_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                campaign.id, campaign.location_id, campaign.name, campaign.template,
                json.dumps(campaign.attachments), campaign.from_number,
                int(campaign.transactional), campaign.quiet_hours, json.dumps(campaign.caps),
                campaign.max_attempts, campaign.source, str(campaign.state),
                campaign.state_reason, campaign.waiting_reason, _ts(campaign.waiting_until),
                campaign.total, _ts(campaign.created_at), _ts(campaign.started_at),
                _ts(campaign.finished_at), _ts(campaign.updated_at),
            ),
        )  # fmt: skip

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        row = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM bulk_campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()
        return _campaign(row) if row else None

    def list_campaigns(self, location_id: str | None = None) -> list[Campaign]:
        if location_id is None:
            rows = self._db.execute(
                f"SELECT {_CAMPAIGN_COLUMNS} FROM bulk_campaigns ORDER BY created_at DESC"
            )
        else:
            rows = self._db.execute(
                f"SELECT {_CAMPAIGN_COLUMNS} FROM bulk_campaigns WHERE location_id = ? "
                "ORDER BY created_at DESC",
                (location_id,),
            )
        return [_campaign(r) for r in rows]

    def running_campaigns(self, location_id: str) -> list[Campaign]:
        rows = self._db.execute(
            f"SELECT {_CAMPAIGN_COLUMNS} FROM bulk_campaigns WHERE location_id = ? "
            "AND state = 'running' ORDER BY created_at",
            (location_id,),
        )
        return [_campaign(r) for r in rows]

    def locations_with_running(self) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT location_id FROM bulk_campaigns WHERE state = 'running' "
            "ORDER BY location_id"
        )
        return [r[0] for r in rows]

    def set_state(
        self,
        campaign_id: str,
        state: CampaignState,
        *,
        reason: str | None = None,
        only_from: Sequence[CampaignState] | None = None,
    ) -> Campaign | None:
        now = self._clock.now()
        extra = ""
        if state == CampaignState.RUNNING:
            extra = ", started_at = coalesce(started_at, :now), finished_at = NULL"
        elif state in (CampaignState.COMPLETED, CampaignState.CANCELLED):
            extra = ", finished_at = :now, waiting_reason = NULL, waiting_until = NULL"
        guard = ""
        params: dict[str, Any] = {"id": campaign_id, "state": str(state), "reason": reason}
        params["now"] = now
        if only_from is not None:
            names = [str(s) for s in only_from]
            guard = " AND state IN (" + ", ".join(f":s{i}" for i in range(len(names))) + ")"
            params.update({f"s{i}": name for i, name in enumerate(names)})
        moved = self._write(
            f"UPDATE bulk_campaigns SET state = :state, state_reason = :reason, "
            f"updated_at = :now{extra} WHERE id = :id{guard}",
            params,
        )
        return self.get_campaign(campaign_id) if moved else None

    def set_waiting(self, campaign_id: str, reason: str | None, until: float | None) -> None:
        self._write(
            "UPDATE bulk_campaigns SET waiting_reason = ?, waiting_until = ?, updated_at = ? "
            "WHERE id = ? AND (waiting_reason IS NOT ? OR waiting_until IS NOT ?)",
            (reason, until, self._clock.now(), campaign_id, reason, until),
        )

    def set_caps(self, campaign_id: str, caps: Mapping[str, Any]) -> None:
        self._write(
            "UPDATE bulk_campaigns SET caps = ?, updated_at = ? WHERE id = ?",
            (json.dumps(dict(caps)), self._clock.now(), campaign_id),
        )

    def set_total(self, campaign_id: str, total: int) -> None:
        self._write(
            "UPDATE bulk_campaigns SET total = ?, updated_at = ? WHERE id = ?",
            (total, self._clock.now(), campaign_id),
        )

    def delete_campaign(self, campaign_id: str) -> None:
        with write_transaction(self._db) as db:
            db.execute("DELETE FROM bulk_recipients WHERE campaign_id = ?", (campaign_id,))
            db.execute("DELETE FROM bulk_campaigns WHERE id = ?", (campaign_id,))

    # --- recipients -----------------------------------------------------------------------

    def add_recipients(
        self, campaign_id: str, first_seq: int, rows: Sequence[NewRecipient]
    ) -> ImportCounts:
        now = self._clock.now()
        counts: ImportCounts = {}
        with write_transaction(self._db) as db:
            for offset, row in enumerate(rows):
                seq = first_seq + offset
                skip = row.skip
                earlier = self._already_in(campaign_id, row) if skip is None else None
                if earlier is not None:
                    skip = (
                        str(SkipReason.DUPLICATE_RECIPIENT),
                        f"Row {seq} is the same person as row {earlier} (the same contact or "
                        "number); each person is texted once per campaign.",
                    )
                state = RecipientState.SKIPPED if skip else RecipientState.PENDING
                code = skip[0] if skip else None
                db.execute(
                    "INSERT INTO bulk_recipients (campaign_id, seq, contact_id, phone, fields, "
                    "state, reason_code, reason, not_before, idempotency_key, attempts, tries, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0, ?)",
                    (
                        campaign_id, seq, row.contact_id, row.phone,
                        json.dumps(dict(row.fields), ensure_ascii=False, separators=(",", ":")),
                        str(state), code, skip[1] if skip else None,
                        recipient_key(campaign_id, seq), now,
                    ),
                )  # fmt: skip
                counts[code or "pending"] = counts.get(code or "pending", 0) + 1
        return counts

    def _already_in(self, campaign_id: str, row: NewRecipient) -> int | None:
        """The earlier row (seq) with this contact id or number, if any."""
        for column, value in (("contact_id", row.contact_id), ("phone", row.phone)):
            if not value:
                continue
            found = self._db.execute(
                f"SELECT seq FROM bulk_recipients WHERE campaign_id = ? AND {column} = ? "
                "ORDER BY seq LIMIT 1",
                (campaign_id, value),
            ).fetchone()
            if found is not None:
                return int(found[0])
        return None

    def claim_due(self, campaign_ids: Sequence[str], now: float, limit: int) -> list[Recipient]:
        if limit <= 0 or not campaign_ids:
            return []
        claimed: list[Recipient] = []
        with write_transaction(self._db) as db:
            share = max(1, -(-limit // len(campaign_ids)))
            for campaign_id in campaign_ids:
                want = min(share, limit - len(claimed))
                if want <= 0:
                    break
                # In list order among the due: a row whose quiet hours or backoff just
                # ended goes before later rows, not after every row never tried.
                rows = db.execute(
                    f"SELECT {_RECIPIENT_COLUMNS} FROM bulk_recipients "
                    f"INDEXED BY {_OPEN_BY_SEQ} WHERE campaign_id = ? "
                    f"AND state IN {_OPEN} AND not_before <= ? ORDER BY seq LIMIT ?",
                    (campaign_id, now, want),
                ).fetchall()
                claimed.extend(_recipient(r) for r in rows)
            if claimed:
                db.executemany(
                    "UPDATE bulk_recipients SET state = 'sending', updated_at = ? WHERE id = ?",
                    [(now, r.id) for r in claimed],
                )
        return claimed

    def sending(self, campaign_ids: Sequence[str]) -> list[Recipient]:
        found: list[Recipient] = []
        for campaign_id in campaign_ids:
            rows = self._db.execute(
                f"SELECT {_RECIPIENT_COLUMNS} FROM bulk_recipients WHERE campaign_id = ? "
                "AND state = 'sending' ORDER BY seq",
                (campaign_id,),
            )
            found.extend(_recipient(r) for r in rows)
        return found

    def finish(
        self,
        recipient_id: int,
        state: RecipientState,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        message_id: str | None = None,
        not_before: float | None = None,
        tried: bool = False,
        resolved: Resolved | None = None,
    ) -> None:
        who = resolved or Resolved(None, None, None)
        with write_transaction(self._db) as db:
            if (
                state in (RecipientState.PENDING, RecipientState.DEFERRED)
                and db.execute(
                    "SELECT 1 FROM bulk_recipients r JOIN bulk_campaigns c ON c.id = r.campaign_id "
                    "WHERE r.id = ? AND c.state = 'cancelled'",
                    (recipient_id,),
                ).fetchone()
            ):
                # A cancelled campaign has no open recipients, whoever puts one back.
                state, reason_code = RecipientState.SKIPPED, str(SkipReason.CANCELLED)
                reason = CANCELLED_REASON
            db.execute(
                "UPDATE bulk_recipients SET state = ?, reason_code = ?, reason = ?, "
                "message_id = coalesce(?, message_id), not_before = coalesce(?, not_before), "
                "tries = tries + ?, resolved_contact_id = coalesce(?, resolved_contact_id), "
                "resolved_phone = coalesce(?, resolved_phone), "
                "contact_name = coalesce(?, contact_name), updated_at = ? WHERE id = ?",
                (
                    str(state), reason_code, reason, message_id, not_before, int(tried),
                    who.contact_id, who.phone, who.name, self._clock.now(), recipient_id,
                ),
            )  # fmt: skip

    def count_attempt(self, recipient_id: int) -> None:
        self._write("UPDATE bulk_recipients SET attempts = attempts + 1 WHERE id = ?",
                    (recipient_id,))  # fmt: skip

    def report(self, campaign_id: str) -> Iterator[ReportRow]:
        return read_report(self._db, campaign_id)

    def defer_due(
        self, campaign_id: str, until: float, reason_code: str, reason: str, now: float
    ) -> int:
        with write_transaction(self._db) as db:
            was_pending = db.execute(
                "SELECT count(*) FROM bulk_recipients WHERE campaign_id = ? "
                "AND state = 'pending' AND not_before < ?",
                (campaign_id, until),
            ).fetchone()[0]
            db.execute(
                f"UPDATE bulk_recipients SET state = 'deferred', not_before = ?, "
                f"reason_code = ?, reason = ?, updated_at = ? WHERE campaign_id = ? "
                f"AND state IN {_OPEN} AND not_before < ?",
                (until, reason_code, reason, now, campaign_id, until),
            )
        return int(was_pending)

    def cancel_open(self, campaign_id: str, reason: str) -> int:
        return self.skip_open(campaign_id, str(SkipReason.CANCELLED), reason)

    def skip_open(self, campaign_id: str, code: str, reason: str) -> int:
        return self._write(
            f"UPDATE bulk_recipients SET state = 'skipped', reason_code = ?, reason = ?, "
            f"updated_at = ? WHERE campaign_id = ? AND state IN {_OPEN}",
            (code, reason, self._clock.now(), campaign_id),
        )

    def next_due(self, campaign_id: str) -> tuple[float, str | None] | None:
        row = self._db.execute(
            f"SELECT not_before, reason_code FROM bulk_recipients WHERE campaign_id = ? "
            f"AND state IN {_OPEN} ORDER BY not_before LIMIT 1",
            (campaign_id,),
        ).fetchone()
        return (float(row[0]), row[1]) if row else None

    def has_open(self, campaign_id: str) -> bool:
        row = self._db.execute(
            f"SELECT 1 FROM bulk_recipients WHERE campaign_id = ? AND state IN {_UNFINISHED} "
            "LIMIT 1",
            (campaign_id,),
        ).fetchone()
        return row is not None

    def open_summary(self, campaign_id: str) -> tuple[int, int, float | None]:
        row = self._db.execute(
            "SELECT count(*), coalesce(sum(contact_id IS NULL), 0), max(not_before) "
            f"FROM bulk_recipients WHERE campaign_id = ? AND state IN {_UNFINISHED}",
            (campaign_id,),
        ).fetchone()
        return int(row[0]), int(row[1]), (float(row[2]) if row[2] is not None else None)

    def counts(self, campaign_id: str) -> dict[tuple[str, str | None], int]:
        rows = self._db.execute(
            "SELECT state, reason_code, count(*) FROM bulk_recipients WHERE campaign_id = ? "
            "GROUP BY state, reason_code",
            (campaign_id,),
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def reason_example(self, campaign_id: str, state: str, code: str) -> str | None:
        row = self._db.execute(
            "SELECT reason FROM bulk_recipients WHERE campaign_id = ? AND state = ? "
            "AND reason_code = ? LIMIT 1",
            (campaign_id, state, code),
        ).fetchone()
        return row[0] if row else None

    def sent_since(self, campaign_id: str, since: float) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM bulk_recipients WHERE campaign_id = ? AND state = 'sent' "
            "AND updated_at > ?",
            (campaign_id, since),
        ).fetchone()
        return int(row[0])

    def iter_recipients(
        self, campaign_id: str, *, states: Sequence[str] | None = None, batch: int = 1000
    ) -> Iterator[Recipient]:
        last = -1
        state_filter = ""
        params: list[Any] = []
        if states is not None:
            state_filter = " AND state IN (" + ", ".join("?" for _ in states) + ")"
            params = list(states)
        while True:
            rows = self._db.execute(
                f"SELECT {_RECIPIENT_COLUMNS} FROM bulk_recipients WHERE campaign_id = ? "
                f"AND seq > ?{state_filter} ORDER BY seq LIMIT ?",
                (campaign_id, last, *params, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _recipient(row)
            last = rows[-1][2]
