"""The ``ghl-sms`` command line. Each command lives in its own module, listed here.

Command modules are imported only when their command runs (or help lists them), so
``ghl-sms mcp`` starts without loading the demo, the bulk engine or the web servers.
"""

from __future__ import annotations

import importlib

import click

from ghl_sms import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# name -> (module, attribute), in the order `ghl-sms --help` shows them.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("ghl_sms.cli._demo", "demo"),
    "send": ("ghl_sms.cli._ops", "send"),
    "cancel": ("ghl_sms.cli._ops", "cancel"),
    "status": ("ghl_sms.cli._ops", "status"),
    "thread": ("ghl_sms.cli._ops", "thread"),
    "inbox": ("ghl_sms.cli._ops", "inbox"),
    "check": ("ghl_sms.cli._ops", "check"),
    "numbers": ("ghl_sms.cli._ops", "numbers"),
    "preview": ("ghl_sms.cli._preview", "preview"),
    "bulk": ("ghl_sms.cli._bulk", "bulk"),
    "mcp": ("ghl_sms.cli._mcp", "mcp"),
    "doctor": ("ghl_sms.cli._mcp", "doctor"),
    "webhooks": ("ghl_sms.cli._webhooks", "webhooks"),
    "sandbox": ("ghl_sms.cli._sandbox", "sandbox"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="ghl-sms")
def cli() -> None:
    """Text through GoHighLevel: send, schedule and follow SMS/MMS conversations.

    Try it with no GHL account: `ghl-sms demo`, or add --sandbox to any command.
    """


def main() -> None:
    """The console script: errors are one or two lines, never a traceback."""
    import logging
    import os
    import sys

    debug = os.environ.get("GHL_SMS_DEBUG", "") not in ("", "0")
    try:
        cli(prog_name="ghl-sms")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last resort for bugs: say so, keep the trace for --debug
        if debug:
            raise
        logging.getLogger("ghl_sms").debug("unexpected error", exc_info=True)
        print(
            f"Error: unexpected {type(exc).__name__}: {exc}\n"
            "Hint: this is a ghl-sms bug; run again with GHL_SMS_DEBUG=1 for the details and "
            "report it.",
            file=sys.stderr,
        )
        sys.exit(1)
