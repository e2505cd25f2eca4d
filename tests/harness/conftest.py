"""The property harness of issue 12 runs only with GHL_SMS_HARNESS=1 until the fixes land.

The lead removes this gate once every property and row passes (the project runs
xfail_strict, so known failures are gated here rather than marked xfail).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("GHL_SMS_HARNESS") == "1":
        return
    gate = pytest.mark.skip(reason="the issue-12 harness runs with GHL_SMS_HARNESS=1")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(gate)
