"""The packaging tests' inputs: the built wheel and sdist, uv and the mcpb validator.

CI (`.ci/run`) builds the distributions and passes their paths in GHL_SMS_WHEEL and
GHL_SMS_SDIST; on a user's machine the tests that need them skip with the reason, and
GHL_SMS_REQUIRE_PACKAGING=1 (set by CI) turns every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MCPB_DIR = ROOT / "packaging" / "mcpb"
REQUIRED = os.environ.get("GHL_SMS_REQUIRE_PACKAGING", "") not in ("", "0")


def need(condition: bool, reason: str) -> None:
    """Skip without it on a user's machine; fail in CI, where it must be there."""
    if condition:
        return
    if REQUIRED:
        pytest.fail(f"{reason} (GHL_SMS_REQUIRE_PACKAGING is set)")
    pytest.skip(reason)


def built(variable: str, suffix: str) -> Path:
    """The distribution a variable names, after checking it is there."""
    value = os.environ.get(variable, "")
    need(value != "", f"{variable} is not set: build with `python -m build` and point it there")
    path = Path(value)
    need(path.is_file() and path.name.endswith(suffix), f"{variable}={value} is not a {suffix}")
    return path


def uv_executable() -> str:
    """uv from GHL_SMS_UV, else from PATH."""
    found = os.environ.get("GHL_SMS_UV") or shutil.which("uv")
    need(found is not None and Path(found).is_file(), "uv is not installed: pip install uv")
    assert found is not None
    return found
