"""The Claude Desktop extension's entry point: `ghl-sms mcp`, set from the extension's
settings (manifest.json's user_config, which the app passes in the environment).

The app runs it with `uv run --directory <extension> server/main.py`: uv installs ghl-sms
from the wheel inside the extension (pyproject.toml beside this folder) and its
dependencies from PyPI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

SANDBOX = "GHL_SMS_MCPB_SANDBOX"
# Settings the user may leave empty (sandbox mode): absent, not set to "".
OPTIONAL = ("GHL_TOKEN", "GHL_LOCATION_ID")


def _given(value: str) -> bool:
    # An app that does not substitute an empty setting may pass the placeholder itself.
    return value.strip() != "" and not value.startswith("${user_config.")


def command_line(environ: MutableMapping[str, str]) -> list[str]:
    """The ghl-sms arguments for these settings; empty settings leave the environment."""
    for name in OPTIONAL:
        if not _given(environ.get(name, "")):
            environ.pop(name, None)
    sandbox = environ.pop(SANDBOX, "").strip().lower() == "true"
    return ["mcp", "--sandbox"] if sandbox else ["mcp"]


def main() -> None:
    arguments = command_line(os.environ)
    from ghl_sms.cli import main as ghl_sms

    sys.argv = ["ghl-sms", *arguments]
    ghl_sms()


if __name__ == "__main__":
    main()
