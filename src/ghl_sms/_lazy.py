"""A package's public names, imported on first use (PEP 562).

``ghl-sms --help`` and the MCP server's first ``tools/list`` must not pay for the HTTP
client, the pydantic models of GHL's answers, the sandbox or the ledger. So a package
``__init__`` lists where each name lives instead of importing it::

    if TYPE_CHECKING:
        from ghl_sms.ghl._client import GhlClient
    else:
        __getattr__, __dir__ = lazy_exports(__name__, {"ghl_sms.ghl._client": ("GhlClient",)})

Type checkers read the ``TYPE_CHECKING`` imports; at run time ``from ghl_sms.ghl import
GhlClient`` imports ``ghl_sms.ghl._client`` then, once. tests/test_lazy_imports.py checks
that both lists agree with ``__all__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a module to the
    names it provides."""
    home = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # found directly from now on
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(home))

    return __getattr__, __dir__
