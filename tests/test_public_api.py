"""The curated public surface stays sorted, complete and importable."""

from __future__ import annotations

import ghl_sms
import ghl_sms.ghl


def isort_order(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest (ruff's RUF022 order)."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_top_level_all_is_sorted_and_every_name_exists() -> None:
    assert ghl_sms.__all__ == sorted(ghl_sms.__all__, key=isort_order)
    for name in ghl_sms.__all__:
        assert hasattr(ghl_sms, name), name


def test_the_client_package_exports_every_error_and_model_it_documents() -> None:
    names = set(ghl_sms.ghl.__all__)
    assert ghl_sms.ghl.__all__ == sorted(ghl_sms.ghl.__all__, key=isort_order)
    for name in names:
        assert hasattr(ghl_sms.ghl, name), name
    errors = {n for n in names if n.endswith("Error") or n == "RequestTimeout"}
    for name in errors:
        assert issubclass(getattr(ghl_sms.ghl, name), ghl_sms.ghl.GhlError), name
