"""Kept for imports from before the storage package: see ``ops.storage.sqlite_schema``."""

from __future__ import annotations

from ghl_sms.ops.storage.sqlite_schema import MIGRATIONS, migrate

__all__ = ["MIGRATIONS", "migrate"]
