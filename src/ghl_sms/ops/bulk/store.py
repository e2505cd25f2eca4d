"""Where campaigns and their recipients live: ``SqlCampaignStore``, on either backend.

Recipients are rows with a state and a ``not_before``; a pump claims the due ones of its
location (``pending``/``deferred`` -> ``sending``) and writes each outcome back. The
store never talks to GHL and never decides anything but the bookkeeping; exactly-once
lives in the ledger, under each recipient's idempotency key.

The SQL is written once; only ``claim_due`` differs by backend (SQLite's file-wide write
transaction vs PostgreSQL's ``FOR UPDATE SKIP LOCKED``), in ``ops.storage``. The
protocol, ``CampaignStore``, is in ``ops.storage.ports``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk.models import (
    Campaign,
    CampaignState,
    NewRecipient,
    Recipient,
    RecipientState,
    SkipReason,
)
from ghl_sms.ops.bulk.report import ReportRow, Resolved, read_report
from ghl_sms.ops.storage.fencing import fence_condition, fence_holds
from ghl_sms.ops.storage.ports import CampaignStore, Fence, ImportCounts
from ghl_sms.ops.storage.sql import Connection, dialect, write_transaction

__all__ = [
    "CANCELLED_REASON",
    "CampaignStore",
    "ImportCounts",
    "SqlCampaignStore",
    "SqliteCampaignStore",
    "recipient_key",
]


CANCELLED_REASON = "The campaign was cancelled before this recipient was texted."


def recipient_key(campaign_id: str, seq: int) -> str:
    """The recipient's idempotency key in the ledger: stable across every resume."""
    return f"bulk:{campaign_id}:{seq}"


_CAMPAIGN_COLUMNS = (
    "id, location_id, name, template, attachments, from_number, transactional, quiet_hours, "
    "caps, max_attempts, source, state, state_reason, waiting_reason, waiting_until, total, "
    "created_at, started_at, finished_at, updated_at, send_window"
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
_DUE = (
    f"SELECT {_RECIPIENT_COLUMNS} FROM bulk_recipients {{hint}}WHERE campaign_id = ? "
    f"AND state IN {_OPEN} AND not_before <= ? ORDER BY seq LIMIT ?{{lock}}"
)
# SQLite: the whole file is this transaction's; the planner is told which index walks
# the open rows in order. PostgreSQL: rows another pump is taking are passed over.
_DUE_SQLITE = _DUE.format(hint=f"INDEXED BY {_OPEN_BY_SEQ} ", lock="")
_DUE_POSTGRES = _DUE.format(hint="", lock=" FOR UPDATE SKIP LOCKED")


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
        send_window=row[20],
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


class SqlCampaignStore:
    """Campaigns in the ledger's database (SQLite migrations ``m003_bulk_campaigns``,
    ``m006_bulk_claims_and_open_index`` and ``m009_campaign_send_window``; PostgreSQL
    ``pg001`` and ``pg003``)."""

    def __init__(self, db: Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._postgres = dialect(db) == "postgres"

    def _write(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        with write_transaction(self._db) as db:
            return db.execute(sql, params).rowcount

    # --- campaigns ------------------------------------------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        self._write(
            f"INSERT INTO bulk_campaigns ({_CAMPAIGN_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                campaign.id, campaign.location_id, campaign.name, campaign.template,
                json.dumps(campaign.attachments), campaign.from_number,
                int(campaign.transactional), campaign.quiet_hours, json.dumps(campaign.caps),
                campaign.max_attempts, campaign.source, str(campaign.state),
                campaign.state_reason, campaign.waiting_reason, _ts(campaign.waiting_until),
                campaign.total, _ts(campaign.created_at), _ts(campaign.started_at),
                _ts(campaign.finished_at), _ts(campaign.updated_at), campaign.send_window,
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
            "WHERE id = ? AND NOT (coalesce(waiting_reason = ?, waiting_reason IS NULL AND "
            "? IS NULL) AND coalesce(waiting_until = ?, waiting_until IS NULL AND ? IS NULL))",
            (reason, until, self._clock.now(), campaign_id, reason, reason, until, until),
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

    def claim_due(
        self, campaign_ids: Sequence[str], now: float, limit: int, *, fence: Fence | None = None
    ) -> list[Recipient]:
        if limit <= 0 or not campaign_ids:
            return []
        claimed: list[Recipient] = []
        with write_transaction(self._db) as db:
            if not fence_holds(db, fence):
                return []
            share = max(1, -(-limit // len(campaign_ids)))
            for campaign_id in campaign_ids:
                want = min(share, limit - len(claimed))
                if want <= 0:
                    break
                # In list order among the due: a row whose quiet hours or backoff just
                # ended goes before later rows, not after every row never tried.
                rows = db.execute(_DUE_POSTGRES if self._postgres else _DUE_SQLITE,
                                  (campaign_id, now, want)).fetchall()  # fmt: skip
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
        fence: Fence | None = None,
    ) -> bool:
        who = resolved or Resolved(None, None, None)
        update = (
            "UPDATE bulk_recipients SET state = ?, reason_code = ?, reason = ?, "
            "message_id = coalesce(?, message_id), not_before = coalesce(?, not_before), "
            "tries = tries + ?, resolved_contact_id = coalesce(?, resolved_contact_id), "
            "resolved_phone = coalesce(?, resolved_phone), "
            "contact_name = coalesce(?, contact_name), updated_at = ? WHERE id = ?"
        )
        if state not in (RecipientState.PENDING, RecipientState.DEFERRED):
            # One statement carrying its own fence check (one round trip, not four).
            fenced, fence_params = fence_condition(self._db, fence)
            cursor = self._db.execute(update + fenced, (
                str(state), reason_code, reason, message_id, not_before, int(tried),
                who.contact_id, who.phone, who.name, self._clock.now(), recipient_id,
                *fence_params,
            ))  # fmt: skip
            return cursor.rowcount > 0 or fence is None
        with write_transaction(self._db) as db:
            if not fence_holds(db, fence):
                return False
            if db.execute(
                "SELECT 1 FROM bulk_recipients r JOIN bulk_campaigns c ON c.id = r.campaign_id "
                "WHERE r.id = ? AND c.state = 'cancelled'",
                (recipient_id,),
            ).fetchone():
                # A cancelled campaign has no open recipients, whoever puts one back.
                state, reason_code = RecipientState.SKIPPED, str(SkipReason.CANCELLED)
                reason = CANCELLED_REASON
            db.execute(update, (
                str(state), reason_code, reason, message_id, not_before, int(tried),
                who.contact_id, who.phone, who.name, self._clock.now(), recipient_id,
            ))  # fmt: skip
        return True

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
            "SELECT count(*), count(*) - count(contact_id), max(not_before) "
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


SqliteCampaignStore = SqlCampaignStore
"""The name from before the PostgreSQL backend (the class serves both)."""
