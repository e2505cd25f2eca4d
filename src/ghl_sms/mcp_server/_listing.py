"""The compact ``tools/list``, cached beside the bytecode so the next start answers from it.

Building the tools (a pydantic model for each one's arguments and result, their JSON
schemas, compacted) is most of what ghl-sms adds to the SDK's own start. The listing
depends only on the source of this package and of the text rules, and on the versions
of the SDK and pydantic; so, like a ``.pyc``, it is kept in ``__pycache__`` under a key
of all of those. A start whose key matches answers the first ``tools/list`` from the
file and registers the tools when they are first needed (a call, or the warm-up just
after); any change gives another key, and the listing is built afresh and saved again.
Nothing is written where bytecode is not (``PYTHONDONTWRITEBYTECODE``, a read-only
install): those starts build the listing each time, as before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mcp.types import Tool

__all__ = ["ToolListing", "default_listing_dir"]

logger = logging.getLogger(__name__)

_PREFIX = "tools-list."


def default_listing_dir() -> Path | None:
    """This package's ``__pycache__`` (wherever Python puts its bytecode), or None when
    Python writes no bytecode."""
    if sys.dont_write_bytecode:
        return None
    try:
        return Path(importlib.util.cache_from_source(__file__)).parent
    except NotImplementedError:  # an implementation without bytecode caching
        return None


def listing_key(sources: Sequence[Path]) -> str:
    """What the listing is built from: the sources' content, the SDK, pydantic, Python."""
    from importlib.metadata import PackageNotFoundError, version

    import pydantic
    import pydantic_core

    digest = hashlib.sha256()
    for name in ("mcp", "mcp-types"):
        try:
            digest.update(f"{name}={version(name)};".encode())
        except PackageNotFoundError:  # a source checkout of the SDK: its files decide
            digest.update(f"{name}=?;".encode())
    digest.update(f"pydantic={pydantic.VERSION};core={pydantic_core.__version__};".encode())
    digest.update(f"python={sys.version_info[:2]};".encode())
    for path in sorted(sources):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def listing_sources() -> list[Path]:
    """The modules whose source shapes the listing: this package and the text rules."""
    here = Path(__file__).parent
    return sorted([*here.glob("*.py"), *(here.parent / "rules").glob("*.py")])


class ToolListing:
    """The cached listing in ``folder``, for the current sources."""

    def __init__(self, folder: Path, sources: Sequence[Path] | None = None) -> None:
        self.folder = folder
        self.key = listing_key(listing_sources() if sources is None else sources)
        self.path = folder / f"{_PREFIX}{self.key}.json"
        self.saved = False

    def load(self) -> list[Tool] | None:
        """The listing saved for this key; None when there is none (or it is unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            tools = [Tool.model_validate(tool) for tool in data["tools"]]
        except FileNotFoundError:
            return None
        except Exception as exc:  # damaged: built afresh and saved over
            logger.debug("ignoring the cached tools/list %s: %s", self.path, exc)
            return None
        self.saved = True
        return tools

    def save(self, tools: Sequence[Tool]) -> None:
        """Keep ``tools`` for the next start (atomically; older keys' files go)."""
        self.saved = True
        body = {
            "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
        }
        temporary: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tools-list-")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(body, file, ensure_ascii=False, separators=(",", ":"))
            os.replace(temporary, self.path)
            temporary = None
            for old in self.folder.glob(f"{_PREFIX}*.json"):
                if old != self.path:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a read-only install: build it each start, as before
            logger.debug("the tools/list could not be cached in %s: %s", self.folder, exc)
        finally:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
