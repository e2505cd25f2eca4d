"""Where the tests' reference data lives: copies inside the repository (tests/data), so the
suite runs from a clone alone."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SPEC_DIR = DATA_DIR / "ghl-api-spec" / "apps"
"""GHL's official OpenAPI files (CC0; see SOURCE.md beside them)."""
SEGMENT_VECTORS = DATA_DIR / "vectors" / "segments.json"
GHL_WEBHOOK_RSA_PEM = DATA_DIR / "ghl-api-spec" / "docs" / "oauth" / "webhook-rsa-public-key.pem"
