"""One test, both backends: the ``backend`` fixture opens a ledger's database on SQLite
(a file in the test's folder) or PostgreSQL (a fresh database), so the store, ledger,
budget and lease contracts run from the same test code against each."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ghl_sms._clock import Clock
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.storage.sql import Connection

BACKENDS = ["sqlite", "postgres"]


@dataclass
class Backend:
    """Where this test's ledger lives: ``target`` is a file path or a postgresql:// URL."""

    name: str
    target: str
    _opened: list[Ledger]

    def ledger(self, clock: Clock) -> Ledger:
        """A new connection to the same database (another process would have one)."""
        ledger = Ledger.open(self.target, clock)
        self._opened.append(ledger)
        return ledger

    def connection(self, clock: Clock) -> Connection:
        return self.ledger(clock).conn

    @property
    def postgres(self) -> bool:
        return self.name == "postgres"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened: list[Ledger] = []
    if request.param == "postgres":
        target = request.getfixturevalue("pg_url")
    else:
        target = str(tmp_path / "ledger.db")
    found = Backend(request.param, target, opened)
    try:
        yield found
    finally:
        for ledger in opened:
            ledger.close()


LedgerFactory = Callable[[Clock], Ledger]


def statement_counter(db: Connection) -> Callable[[], int]:
    """Statements sent on ``db`` from now on (SQLite: traced; PostgreSQL: its round trips)."""
    from ghl_sms.ops.storage.postgres import PgConnection

    if isinstance(db, sqlite3.Connection):
        seen: list[str] = []
        db.set_trace_callback(seen.append)
        return lambda: len(seen)
    assert isinstance(db, PgConnection)
    start = db.round_trips
    return lambda: db.round_trips - start
