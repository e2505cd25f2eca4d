"""Kept for imports from before the storage package: see ``ops.storage.sqlite``."""

from __future__ import annotations

from ghl_sms.ops.storage.sqlite import APPLICATION_ID, connect_ledger

__all__ = ["APPLICATION_ID", "connect_ledger"]
