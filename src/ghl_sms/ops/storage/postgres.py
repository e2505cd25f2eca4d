"""The PostgreSQL backend: a connection with the stores' shape, and what differs.

psycopg (3) is imported here only, and only when a ``postgresql://`` URL is opened, so
the default install never needs it (``pip install 'ghl-sms[postgres]'`` brings it).

``PgConnection`` is one synchronous psycopg connection in autocommit mode: a statement
outside ``transaction()`` commits on its own, like the SQLite connections the stores
were written for. Parameters are bound client side (``ClientCursor``), so SQL written
for SQLite (``?`` and ``:name`` placeholders, an untyped ``? IS NULL``) means the same
here; ``%`` in the SQL is escaped for psycopg.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from ghl_sms._clock import Clock
from ghl_sms.ops.bulk.budget import DayState, Limit, SqlBudget, plan_reservation
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.storage.sql import (
    has_stray_at,
    is_postgres_url,
    redact_url,
    scrub_secrets,
    url_passwords,
)

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "EXTRA_MISSING",
    "PgConnection",
    "PostgresBudget",
    "connect",
    "is_postgres_url",
    "redact_url",
]

EXTRA_MISSING = (
    "GHL_SMS_DATABASE_URL points at PostgreSQL, but its support is not installed: "
    "pip install 'ghl-sms[postgres]' (or unset GHL_SMS_DATABASE_URL to use the local ledger file)."
)

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|%|\?|:[A-Za-z_]\w*")


def translate(sql: str) -> str:
    """SQLite-style placeholders to psycopg's (outside quoted strings and names)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith(":") and token != "::":
            return f"%({token[1:]})s"
        return token

    return _TOKEN.sub(swap, sql)


_TRANSLATED: dict[str, str] = {}


def _translated(sql: str) -> str:
    cached = _TRANSLATED.get(sql)
    if cached is None:
        cached = translate(sql)
        if len(_TRANSLATED) < 4096:
            _TRANSLATED[sql] = cached
    return cached


class PgCursor:
    """A finished statement's rows (fetched at once: statements here are small)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self._rowcount = rowcount

    @property
    def rowcount(self) -> int:
        return self._rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        row = self._rows[self._next]
        self._next += 1
        return row

    def fetchall(self) -> list[Any]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row


class PgConnection:
    """A psycopg connection shaped like the stores' ``sqlite3.Connection``."""

    dialect: Literal["postgres"] = "postgres"

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self.raw = conn
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self.round_trips = 0
        """Statements sent (a transaction's BEGIN and COMMIT count too): for benchmarks."""

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = (), /) -> PgCursor:
        with self._lock:
            self.round_trips += 1
            cursor = self.raw.execute(_translated(sql), parameters or None)
            rows = cursor.fetchall() if cursor.description is not None else []
            return PgCursor(rows, cursor.rowcount)

    def executemany(self, sql: str, parameters: Any, /) -> PgCursor:
        with self._lock, self.raw.cursor() as cursor:
            batch = list(parameters)
            self.round_trips += 1
            cursor.executemany(_translated(sql), batch)
            return PgCursor([], cursor.rowcount)

    @contextmanager
    def transaction(self, locks: Sequence[str] = ()) -> Iterator[PgConnection]:
        """A transaction (a savepoint inside another); ``locks``: advisory locks taken
        first, in sorted order, held until it ends."""
        with self._lock, self.raw.transaction():
            self._depth += 1
            self.round_trips += 2  # BEGIN, COMMIT
            try:
                if locks:
                    self.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                        "FROM unnest(?::text[]) AS k ORDER BY k",
                        (sorted(set(locks)),),
                    )
                yield self
            finally:
                self._depth -= 1

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def close(self) -> None:
        self.raw.close()


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise LedgerUnusable(EXTRA_MISSING, path=None) from None
    return psycopg


def connect(url: str) -> PgConnection:
    """A connection to the database at ``url``; ``LedgerUnusable`` with what to do when
    the extra is missing or the server can't be reached. The error never holds the
    URL's password: not in the URL it shows, nor in the driver's reason (libpq quotes a
    URL, or a piece of one, it could not parse)."""
    psycopg = _psycopg()
    where = redact_url(url)
    if has_stray_at(url):  # libpq's error would quote the password's tail as a host
        raise LedgerUnusable(
            f"The database URL {where} has more than one @: write an @ in the user name "
            "or password as %40 (and a / as %2F, a : as %3A).",
            path=None,
        )
    try:
        conn = psycopg.connect(
            url, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=10
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = scrub_secrets(reason, url_passwords(url))
        raise LedgerUnusable(
            f"Cannot connect to the database {where} ({reason}); check "
            "GHL_SMS_DATABASE_URL (--database-url) and that the server is running.",
            path=None,
        ) from None
    return PgConnection(conn, url)


class PostgresBudget(SqlBudget):
    """``SqlBudget`` for several machines: each claim reads the database's clock after
    taking its key's lock, so every claim of a key is on one clock and in the order the
    lock gave (a claim decided on a stale local clock could land inside another's
    window). Instants are still the caller's to the outside: the offset between the
    two clocks, measured at each claim, converts them.

    A claim is four round trips: BEGIN; the key's advisory lock, the clock, the key's
    recent claims and its day, in one; the claim and the day, in one; COMMIT (which
    does not wait for the disk: see ``_WRITE``).
    """

    _READ = (
        "SELECT n.now, (SELECT coalesce(array_agg(at ORDER BY at), '{}'::float8[]) "
        "FROM bulk_budget_claims WHERE key = ? AND at > n.now - ?), "
        "d.day_start, d.used, d.blocked_until "
        "FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS now "
        "FROM (SELECT pg_advisory_xact_lock(hashtextextended(?, 0))) AS locked OFFSET 0) AS n "
        "LEFT JOIN bulk_budget_days d ON d.key = ?"
    )
    _WRITE = (
        "WITH claim AS (INSERT INTO bulk_budget_claims (key, at) VALUES (?, ?)) "
        "INSERT INTO bulk_budget_days (key, day_start, used, blocked_until) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET day_start = excluded.day_start, "
        "used = excluded.used, blocked_until = excluded.blocked_until; "
        # The commit doesn't wait for the disk (3.7 -> 1.5 ms a claim here): a database
        # crash may forget the last fraction of a second of claims, so a few requests
        # may then meet a 429 (backed off, and corrected from GHL's headers). Sends and
        # their ledger records stay synchronous: nothing is ever sent twice for it.
        "SET LOCAL synchronous_commit TO off"
    )
    _ISSUED_MAX = 10_000

    def __init__(self, db: PgConnection, clock: Clock) -> None:
        super().__init__(db)
        self._pg = db
        self._clock = clock
        self.offset = 0.0
        """The database's clock minus ours, as last measured."""
        self._issued: dict[tuple[str, float], float] = {}

    def reserve(self, key: str, limit: Limit, now: float) -> float:
        with self._pg.transaction() as db:
            local = self._clock.now()
            row = db.execute(self._READ, (key, limit.longest, f"budget:{key}", key)).fetchone()
            db_now = float(row[0])
            self.offset = db_now - local
            earliest = max(db_now, now + self.offset)
            day = DayState(row[2], row[3], row[4]) if row[2] is not None else None
            slot, after = plan_reservation(key, list(row[1]), earliest, limit, day)
            db.execute(
                self._WRITE, (key, slot, key, after.day_start, after.used, after.blocked_until)
            )
        self._remember(key, slot)
        ours = slot - self.offset
        if len(self._issued) >= self._ISSUED_MAX:
            del self._issued[next(iter(self._issued))]
        self._issued[(key, ours)] = slot
        return ours

    def refund(self, key: str, at: float) -> None:
        super().refund(key, self._issued.pop((key, at), at + self.offset))

    def blocked_until(self, key: str, limit: Limit, now: float) -> float | None:
        until = super().blocked_until(key, limit, now + self.offset)
        return None if until is None else until - self.offset

    def book(self, key: str, at: float, count: int) -> None:
        super().book(key, at + self.offset, count)

    def block(self, key: str, until: float) -> None:
        super().block(key, until + self.offset)

    def count(self, key: str, since: float, until: float) -> int:
        return super().count(key, since + self.offset, until + self.offset)

    def known(self, key: str, since: float, until: float) -> int:
        # The claims are remembered as stored (the database's clock), and converted
        # exactly as ``count`` converts: the floor holds whatever the offset did since.
        return super().known(key, since + self.offset, until + self.offset)
