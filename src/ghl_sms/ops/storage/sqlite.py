"""The embedded backend: the ledger's SQLite file (its schema is ``sqlite_schema``).

Opening the ledger's file: create one only where nothing exists, never clobber a file.

A ledger is the only record of what was sent. SQLite happily "opens" an empty file as a
new database, so an emptied or misplaced file would silently become a fresh ledger and a
key already sent could be sent again. Here:

- no file: a new ledger is built beside the path and linked into place atomically, so
  another process never sees a half-made one (and two creating at once agree on one);
- a file that is a ghl-sms ledger (our ``application_id``, or, for files made before it
  was set, our tables): opened;
- anything else (empty, not SQLite, damaged, another program's database, a folder):
  ``LedgerUnusable`` naming the file and what to do; the file is not modified.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ghl_sms.ops.errors import LedgerUnusable

__all__ = ["APPLICATION_ID", "connect_ledger"]

APPLICATION_ID = 0x47534D53  # "GSMS", in the SQLite header of every ledger we create
_SQLITE_MAGIC = b"SQLite format 3\x00"
_OUR_TABLES = frozenset({"_migrations", "sends"})

Prepare = Callable[[sqlite3.Connection], object]


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30.0, isolation_level=None)


def _tune(db: sqlite3.Connection, *, wal: bool) -> None:
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=30000")


def connect_ledger(path: str | Path, prepare: Prepare) -> sqlite3.Connection:
    """A connection to the ledger at ``path`` (``":memory:"`` for tests), created if no
    file exists. ``prepare`` brings the schema up to date (it runs on a new file before it
    is linked into place, and on every open)."""
    if str(path) == ":memory:":
        db = _connect(":memory:")
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        _tune(db, wal=False)
        prepare(db)
        return db
    target = Path(path)
    if not target.exists() and not target.is_symlink():
        _create(target, prepare)
    return _open_existing(target, prepare)


def _unusable(path: Path, why: str) -> LedgerUnusable:
    return LedgerUnusable(
        f"{path} is not a ghl-sms ledger or is damaged ({why}); it was left untouched. "
        f"Move it aside (mv {path} {path}.bad) to start a new ledger, or point --ledger "
        "(GHL_SMS_LEDGER) at another file; keep the old file if it may record sends.",
        path=path,
    )


def _create(target: Path, prepare: Prepare) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerUnusable(
            f"Cannot create the folder {target.parent} for the ledger "
            f"({exc.strerror or exc}); create it, or point --ledger (GHL_SMS_LEDGER) "
            "at a file in a folder you can write.",
            path=target,
        ) from None
    scratch = target.with_name(f".{target.name}.{secrets.token_hex(6)}.new")
    try:
        db = _connect(str(scratch))
        try:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            _tune(db, wal=True)
            prepare(db)
        finally:
            db.close()
        try:
            os.link(scratch, target)  # fails if the path exists: never replaces a file
        except FileExistsError:
            pass  # another process made it first: open theirs
        except OSError:
            # No hard links here (some network or FAT file systems): create in place.
            with contextlib.suppress(FileExistsError):
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                os.close(fd)
                os.replace(scratch, target)
    except sqlite3.Error as exc:
        raise LedgerUnusable(
            f"Cannot create the ledger {target} ({exc}); point --ledger (GHL_SMS_LEDGER) at "
            "a file in a folder you can write.",
            path=target,
        ) from None
    finally:
        for leftover in (scratch, *(Path(f"{scratch}{s}") for s in ("-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _open_existing(target: Path, prepare: Prepare) -> sqlite3.Connection:
    if target.is_dir():
        raise _unusable(target, "it is a folder")
    try:
        with target.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise LedgerUnusable(
            f"The ledger {target} cannot be read ({exc.strerror or exc}); give yourself "
            "access to it, or point --ledger (GHL_SMS_LEDGER) elsewhere.",
            path=target,
        ) from None
    if not head:
        raise _unusable(target, "the file is empty")
    if head != _SQLITE_MAGIC:
        raise _unusable(target, "the file is not an SQLite database")
    db = _connect(str(target))
    try:
        _recognise(db, target)  # reads only: nothing is written to a file that isn't ours
        _tune(db, wal=True)
        prepare(db)
    except LedgerUnusable:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _unusable(target, f"SQLite says: {exc}") from None
    return db


def _recognise(db: sqlite3.Connection, target: Path) -> None:
    application_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if application_id == APPLICATION_ID:
        return
    if application_id != 0:
        raise _unusable(target, f"it belongs to another program (application id {application_id})")
    if not _OUR_TABLES <= tables:
        why = "it lacks a ledger's tables" if tables else "it is an empty database"
        raise _unusable(target, why)
    # A ledger made before ghl-sms stamped its files: ours, so stamp it now.
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
