"""Kept for imports from before the PostgreSQL backend: see ``ops.storage.sql``."""

from __future__ import annotations

from ghl_sms.ops.storage.sql import write_transaction

__all__ = ["write_transaction"]
