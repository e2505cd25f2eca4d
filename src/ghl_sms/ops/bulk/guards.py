"""What keeps a campaign from hurting its sender: one text per person, a spend cap, a
deadline, and a pause when failures or opt-outs run high.

- **One person, one text**: every recipient is resolved to its GHL contact and E.164
  number as it is sent; the first row to reach a person claims them (``claim``), and a
  later row of the same person, however it was listed, is skipped as
  ``duplicate_recipient`` naming both rows.
- **Spend cap**: the same claim carries the message's estimated cost; a send whose
  cost would take the campaign's sent-and-in-flight estimate over ``max_cost_usd``
  pauses the campaign before it goes.
- **Deadline**: a recipient not texted by ``expires_at`` is skipped as ``expired``.
- **Health**: carriers and GHL suspend senders with high failure or opt-out rates
  (sms-rules §5): over a rolling window of the campaign's latest attempts, a failure
  rate or an opt-out rate at or over its threshold pauses the campaign with the reason;
  only a deliberate ``bulk resume`` continues it, and counts afresh from then.

The claims live in one table of the ledger's database, ``bulk_claims`` (migration m006).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from ghl_sms._clock import Clock
from ghl_sms.ops.storage.ports import GuardStore
from ghl_sms.ops.storage.sql import Connection, write_transaction

__all__ = [
    "ClaimResult",
    "DuplicateRecipient",
    "GuardStore",
    "Guards",
    "Health",
    "SpendCapReached",
    "SqlGuardStore",
    "SqliteGuardStore",
    "health_problem",
]


@dataclass(frozen=True, kw_only=True)
class Guards:
    """A campaign's guards; stored with its caps (``caps["guards"]``)."""

    max_failure_rate: float | None = 0.20
    """Pause when this share of the last ``failure_window`` attempts failed (None: off)."""
    failure_window: int = 50
    failure_min_sample: int = 20
    max_opt_out_rate: float | None = 0.05
    """Pause when this share of the last ``opt_out_window`` texted opted out (None: off)."""
    opt_out_window: int = 200
    opt_out_min_sample: int = 40
    max_cost_usd: float | None = None
    expires_at: float | None = None
    """Epoch seconds: recipients not texted by then are skipped as ``expired``."""
    since: float | None = None
    """Rates count only outcomes after this moment (set by a resume after a guard pause)."""

    def __post_init__(self) -> None:
        for name in ("max_failure_rate", "max_opt_out_rate"):
            rate = getattr(self, name)
            if rate is not None and not 0 < rate <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1 (0.2 is 20%).")
        if self.max_cost_usd is not None and self.max_cost_usd <= 0:
            raise ValueError("The spend cap must be more than $0.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Guards:
        if not data:
            return cls()
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def resumed(self, now: float) -> Guards:
        return replace(self, since=now)


@dataclass(frozen=True)
class ClaimResult:
    duplicate_of: int | None = None
    """The row (seq) that already has this person."""
    spent_usd: float = 0.0
    """Estimated cost of what the campaign sent or is sending, before this message."""
    over_budget: bool = False


class DuplicateRecipient(Exception):
    """Raised in the send's gate: this row's person was claimed by an earlier row."""

    def __init__(self, seq: int, earlier: int, who: str) -> None:
        super().__init__(
            f"Row {seq} is the same person as row {earlier} ({who}); each person is texted "
            "once per campaign."
        )
        self.seq = seq
        self.earlier = earlier


class SpendCapReached(Exception):
    """Raised in the send's gate: this message would take the campaign over its cap."""

    def __init__(self, spent: float, cost: float, cap: float) -> None:
        super().__init__(
            f"Spend cap reached: about ${spent:.2f} sent of the ${cap:.2f} cap, and the next "
            f"message costs about ${cost:.4f}. Raise the cap with `bulk resume ID "
            "--max-cost USD`, or cancel the campaign."
        )


@dataclass(frozen=True)
class Health:
    """A campaign's recent outcomes (newest ``window`` of each)."""

    attempts: int
    failures: int
    texted: int
    opted_out: int


def health_problem(health: Health, guards: Guards) -> str | None:
    """Why the campaign must pause, or None. Pure: thresholds over the counts."""
    rate = guards.max_failure_rate
    if (
        rate is not None
        and health.attempts >= guards.failure_min_sample
        and health.failures >= rate * health.attempts
    ):
        return (
            f"Paused by its failure guard: {health.failures} of the last {health.attempts} "
            f"sends failed (limit {rate:.0%}). Check `bulk report` for the reasons; "
            "`bulk resume` continues on purpose."
        )
    rate = guards.max_opt_out_rate
    if (
        rate is not None
        and health.texted >= guards.opt_out_min_sample
        and health.opted_out >= rate * health.texted
    ):
        return (
            f"Paused by its opt-out guard: {health.opted_out} of the last {health.texted} "
            f"recipients opted out (limit {rate:.0%}). Review the list and the text; "
            "`bulk resume` continues on purpose."
        )
    return None


class SqlGuardStore:
    """``GuardStore`` in the ledger's database (either backend)."""

    def __init__(self, db: Connection, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def claim(
        self,
        *,
        recipient_id: int,
        campaign_id: str,
        seq: int,
        contact_id: str | None,
        phone: str | None,
        cost: float,
        max_cost: float | None,
    ) -> ClaimResult:
        # One claim of a campaign at a time: who it texts and what it has spent so far.
        with write_transaction(self._db, [f"guards:{campaign_id}"]) as db:
            other = db.execute(
                "SELECT seq FROM bulk_claims WHERE campaign_id = ? AND recipient_id != ? "
                "AND (contact_id = ? OR phone = ?) ORDER BY seq LIMIT 1",
                (campaign_id, recipient_id, contact_id, phone),
            ).fetchone()
            if other is not None:
                return ClaimResult(duplicate_of=int(other[0]))
            spent = 0.0
            if max_cost is not None:
                spent = float(
                    db.execute(
                        "SELECT coalesce(sum(c.cost), 0) FROM bulk_claims c JOIN bulk_recipients r "
                        "ON r.id = c.recipient_id WHERE c.campaign_id = ? AND c.recipient_id != ? "
                        "AND r.state IN ('sent', 'sending')",
                        (campaign_id, recipient_id),
                    ).fetchone()[0]
                )
                if spent + cost > max_cost + 1e-9:
                    return ClaimResult(spent_usd=spent, over_budget=True)
            db.execute(
                "INSERT INTO bulk_claims (recipient_id, campaign_id, seq, contact_id, phone, cost) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (recipient_id) DO UPDATE SET "
                "campaign_id = excluded.campaign_id, seq = excluded.seq, "
                "contact_id = excluded.contact_id, phone = excluded.phone, cost = excluded.cost",
                (recipient_id, campaign_id, seq, contact_id, phone, cost),
            )
        return ClaimResult(spent_usd=spent)

    def health(self, campaign_id: str, location_id: str, guards: Guards) -> Health:
        since = guards.since or 0.0
        # A failure: GHL refused the send, or the carrier reported it failed/undelivered.
        attempts = self._db.execute(
            "SELECT CASE WHEN r.state = 'failed' OR s.status IN ('failed', 'undelivered') "
            "THEN 1 ELSE 0 END "
            "FROM bulk_recipients r LEFT JOIN sends s ON s.idempotency_key = r.idempotency_key "
            "WHERE r.campaign_id = ? AND r.state IN ('sent', 'failed') AND r.updated_at > ? "
            "ORDER BY r.updated_at DESC LIMIT ?",
            (campaign_id, since, guards.failure_window),
        ).fetchall()
        texted = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM opt_outs o WHERE o.location_id = ? "
            "AND o.lifted_at IS NULL AND o.created_at >= r.updated_at "
            "AND (o.contact_id = c.contact_id OR o.phone = c.phone)) "
            "FROM bulk_recipients r JOIN bulk_claims c ON c.recipient_id = r.id "
            "WHERE r.campaign_id = ? AND r.state = 'sent' AND r.updated_at > ? "
            "ORDER BY r.updated_at DESC LIMIT ?",
            (location_id, campaign_id, since, guards.opt_out_window),
        ).fetchall()
        return Health(
            attempts=len(attempts),
            failures=sum(1 for (failed,) in attempts if failed),
            texted=len(texted),
            opted_out=sum(1 for (out,) in texted if out),
        )


SqliteGuardStore = SqlGuardStore
"""The name from before the PostgreSQL backend (the class serves both)."""
