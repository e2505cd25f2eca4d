"""Fenced writes: a write made under a lease's epoch happens only while that epoch is
the lease's current one (see ``ports.Fence``)."""

from __future__ import annotations

from ghl_sms.ops.storage.ports import Fence
from ghl_sms.ops.storage.sql import Connection, dialect

__all__ = ["fence_condition", "fence_holds"]


def fence_holds(db: Connection, fence: Fence | None) -> bool:
    """Inside a write transaction: whether ``fence`` (None: unfenced) is current.

    On PostgreSQL the lease row is share-locked until the transaction ends, so a pump
    taking the lease over (which bumps the epoch) waits for this write to finish, and
    a write that starts after the takeover sees the new epoch. SQLite's write
    transaction has the whole file already."""
    if fence is None:
        return True
    lock = " FOR SHARE" if dialect(db) == "postgres" else ""
    sql = f"SELECT epoch FROM bulk_leases WHERE name = ?{lock}"
    row = db.execute(sql, (fence.name,)).fetchone()
    return row is not None and int(row[0]) == fence.epoch


def fence_condition(db: Connection, fence: Fence | None) -> tuple[str, tuple[str, int] | tuple[()]]:
    """``fence`` as a condition for a single write's WHERE (and its parameters), so the
    write carries its own check, atomic alone (no transaction, no separate SELECT): it
    matches nothing unless the epoch is current when it runs.

    On PostgreSQL the lease row is share-locked by the statement: a takeover waits for
    it, and a statement that waited on a takeover re-reads the lease row as committed
    (and so matches nothing). SQLite runs the statement under the file's write lock."""
    if fence is None:
        return "", ()
    lock = " FOR SHARE" if dialect(db) == "postgres" else ""
    return (
        f" AND EXISTS (SELECT 1 FROM bulk_leases WHERE name = ? AND epoch = ?{lock})",
        (fence.name, fence.epoch),
    )
