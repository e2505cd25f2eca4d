"""The ``ghl-sms`` command line. Each command lives in its own module, listed here.

Command modules are imported only when their command runs (or help lists them), so
``ghl-sms mcp`` starts without loading the demo, the bulk engine or the web servers.
"""

from __future__ import annotations

import importlib
from typing import Any, NoReturn

import click

from ghl_sms import __version__
from ghl_sms.cli._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    KNOWN_ERRORS,
    CommandError,
    error_json,
    interrupted,
    translate,
    wants_json,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# name -> (module, attribute), in the order `ghl-sms --help` shows them.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("ghl_sms.cli._demo", "demo"),
    "send": ("ghl_sms.cli._ops", "send"),
    "cancel": ("ghl_sms.cli._ops", "cancel"),
    "status": ("ghl_sms.cli._ops", "status"),
    "thread": ("ghl_sms.cli._ops", "thread"),
    "inbox": ("ghl_sms.cli._ops", "inbox"),
    "contacts": ("ghl_sms.cli._contacts", "contacts"),
    "check": ("ghl_sms.cli._ops", "check"),
    "numbers": ("ghl_sms.cli._ops", "numbers"),
    "preview": ("ghl_sms.cli._preview", "preview"),
    "history": ("ghl_sms.cli._history", "history_cmd"),
    "optouts": ("ghl_sms.cli._optouts", "optouts"),
    "bulk": ("ghl_sms.cli._bulk", "bulk"),
    "mcp": ("ghl_sms.cli._mcp", "mcp"),
    "doctor": ("ghl_sms.cli._mcp", "doctor"),
    "locations": ("ghl_sms.cli._locations", "locations"),
    "login": ("ghl_sms.cli._login", "login"),
    "webhooks": ("ghl_sms.cli._webhooks", "webhooks"),
    "sandbox": ("ghl_sms.cli._sandbox", "sandbox"),
    "console": ("ghl_sms.cli._console", "console"),
    "db": ("ghl_sms.cli._db", "db"),
    "completion": ("ghl_sms.cli._completion", "completion"),
}


class LazyGroup(click.Group):
    """Commands loaded on demand, and the one place every command's errors are shown."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Known before the command parses its options, so a bad option is JSON too.
        ctx.meta["ghl_sms.json"] = wants_json(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except BrokenPipeError:
            reader_went_away()
        except KeyboardInterrupt:
            error: click.ClickException = interrupted()
        except BaseExceptionGroup as group:  # Ctrl-C (or a closed pipe) inside a task group
            if group.split(BrokenPipeError)[1] is None:
                reader_went_away()
            rest = group.split(KeyboardInterrupt)[1]
            if rest is not None:
                raise
            error = interrupted()
        except click.ClickException as exc:
            error = exc
        except KNOWN_ERRORS as exc:  # anticipated errors a command did not translate
            mapped = translate(exc)
            if mapped is None:
                raise
            error = mapped
        if ctx.meta.get("ghl_sms.json"):
            click.echo(error_json(error))
        else:
            error.show()
        raise click.exceptions.Exit(error.exit_code)


def reader_went_away() -> NoReturn:
    """``ghl-sms ... | head``: the reader closed the pipe, so stop quietly (exit 1, as
    Python's docs advise), without a second error when the interpreter flushes stdout."""
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (an in-process runner)
        pass
    raise click.exceptions.Exit(EXIT_FAILED)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="ghl-sms", message="%(prog)s %(version)s")
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
    except KeyboardInterrupt:  # before a command started (click reports the rest)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the last resort for bugs: say so, keep the trace for --debug
        if debug:
            raise
        logging.getLogger("ghl_sms").debug("unexpected error", exc_info=True)
        bug = CommandError(
            f"unexpected {type(exc).__name__}: {exc}",
            EXIT_FAILED,
            hint="this is a ghl-sms bug; run again with GHL_SMS_DEBUG=1 for the details and "
            "report it.",
            name="bug",
        )
        if wants_json(sys.argv[1:]):
            print(error_json(bug))
        bug.show()
        sys.exit(EXIT_FAILED)
