"""One way to talk SQL to either backend: the connection shape and the write transaction.

The stores are written once, against the subset of ``sqlite3.Connection`` they use
(``execute``/``executemany``, cursors with ``fetchone``/``fetchall``/``rowcount``, rows
as tuples). An SQLite connection is that already; on PostgreSQL a small adapter
(``storage.postgres.PgConnection``) gives the same shape over psycopg, translating the
``?`` and ``:name`` placeholders. SQL both engines read alike is written once; what
differs (locking a due row, the budget's clock, types in the schema) lives in the
backend's module.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import unquote

__all__ = [
    "Connection",
    "Cursor",
    "Dialect",
    "TransactionalConnection",
    "dialect",
    "is_postgres_url",
    "redact_url",
    "scrub_secrets",
    "url_passwords",
    "write_transaction",
]

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any] | Mapping[str, Any]


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the stores need of a connection; ``sqlite3.Connection`` is one."""

    def execute(self, sql: str, parameters: Params = (), /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...
    def close(self) -> None: ...


@runtime_checkable
class TransactionalConnection(Protocol):
    """A connection that knows its dialect and runs its own transactions (PostgreSQL)."""

    dialect: Dialect

    def transaction(self, locks: Sequence[str] = ()) -> AbstractContextManager[Any]: ...


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def has_stray_at(url: str) -> bool:
    """A postgresql:// URL with an unescaped @ in its user name or password: libpq
    would split it at the first @ and take the rest of the password for a host name."""
    return is_postgres_url(url) and url.split("://", 1)[1].split("?", 1)[0].count("@") > 1


# A URL's password (up to the last @ of the word: an unescaped @ or / in a password is
# hidden too, and an empty user name is still a user name), and a password= parameter
# (a URL's query, or libpq's keyword form).
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*):([^\s'\"]*)@")
_PASSWORD_PARAM = re.compile(r"(password=)([^\s&'\"]*)", re.IGNORECASE)
# A whole string that is one URL: its password may even hold spaces (libpq refuses it,
# quoting it).
_WHOLE_URL_PASSWORD = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(.*)@")


def redact_url(url: str) -> str:
    """The URL without its password (for messages and logs): ``postgresql://u:***@h/db``,
    also with no user name, an unescaped ``@`` or ``/`` in the password, or
    ``?password=...`` (``password=***``)."""
    return scrub_secrets(_WHOLE_URL_PASSWORD.sub(r"\1:***@", url))


def scrub_secrets(text: str, known: Iterable[str] = ()) -> str:
    """``text`` without the passwords of the URLs in it, and without the ``known``
    secrets wherever they appear (a driver may quote a URL's password alone, as libpq
    does for one it cannot parse: ``url_passwords`` gives them).

    Every error or log line that may quote a database URL passes here.
    """
    for secret in sorted({s for s in known if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _PASSWORD_PARAM.sub(r"\1***", text)


def url_passwords(url: str) -> list[str]:
    """The passwords ``url`` holds (in its user part or ``password=`` parameters), as
    written and percent-decoded: what to hide from a message that may quote them."""
    found = [m.group(2) for m in _WHOLE_URL_PASSWORD.finditer(url)]
    found += [m.group(2) for m in _URL_PASSWORD.finditer(url)]
    found += [m.group(2) for m in _PASSWORD_PARAM.finditer(url)]
    return list(dict.fromkeys(p for raw in found for p in (raw, unquote(raw)) if p))


def dialect(db: Connection) -> Dialect:
    if isinstance(db, TransactionalConnection):
        return db.dialect
    return "sqlite"


def write_transaction(
    db: Connection, locks: Sequence[str] = ()
) -> AbstractContextManager[Connection]:
    """One write transaction; rolls back on any exception.

    On SQLite it is taken at once (``BEGIN IMMEDIATE``): writers queue on the file, so a
    read-then-write inside it cannot race another process. PostgreSQL lets writers run
    side by side, so a read-then-write names what it must have alone: ``locks`` are
    taken first (transaction-scoped advisory locks, in sorted order so two transactions
    never wait on each other), which SQLite doesn't need.
    """
    if isinstance(db, TransactionalConnection):
        return db.transaction(locks)
    assert isinstance(db, sqlite3.Connection)
    return _sqlite_transaction(db)


@contextmanager
def _sqlite_transaction(db: sqlite3.Connection) -> Iterator[Connection]:
    if db.in_transaction:
        # Inside a caller's transaction (a campaign created with its recipients in one
        # go): a savepoint, so this part rolls back alone and the whole commits once.
        db.execute("SAVEPOINT nested")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK TO nested")
            db.execute("RELEASE nested")
            raise
        db.execute("RELEASE nested")
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
