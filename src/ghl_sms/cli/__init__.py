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
    CommandError,
    error_json,
    interrupted,
    known_errors,
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
    "worker": ("ghl_sms.cli._worker", "worker"),
    "completion": ("ghl_sms.cli._completion", "completion"),
}

# name -> the command's short help, as `ghl-sms --help` lists it: listing them from here
# spares --help importing every command (tests/cli/test_startup.py keeps them in step).
SUMMARIES: dict[str, str] = {
    "demo": "Walk through ghl-sms against a fresh embedded sandbox (no GHL account needed).",
    "send": "Send an SMS, or an MMS with --media, now or later (--at).",
    "cancel": "Cancel a scheduled message; with no id, list the scheduled ones.",
    "status": "A message's delivery status, with a failure explained and what to do.",
    "thread": "A contact's conversation, newest message last.",
    "inbox": "Recent conversations with their unread counts, most recent first.",
    "contacts": "Find contacts by name, phone, email or tag, or show one.",
    "check": "Could this contact or number be texted now? Sends and creates nothing.",
    "numbers": "The location's sending numbers: SMS/MMS capability and the default.",
    "preview": "Show how TEXT will be encoded and split into billed SMS parts.",
    "history": "Every send this install made: when, to whom, the text, parts, cost estimate, "
    "status and why it failed.",
    "optouts": "Local opt-outs: who this location must not text, and why.",
    "bulk": "Text a list: a CSV, contact ids or a GHL tag, one template with merge fields.",
    "mcp": "Serve the ghl-sms tools to Claude, Cursor or any MCP client.",
    "doctor": "Check a GHL setup before wiring it into an assistant.",
    "locations": "The sub-accounts you can text from: profiles and the agency login's locations.",
    "login": "Log in with an agency's marketplace app (OAuth) to text from all its sub-accounts.",
    "webhooks": "Receive GHL webhooks into the ledger: replies, opt-outs, delivery statuses, DND.",
    "sandbox": "Serve a local GoHighLevel: the API routes ghl-sms uses, a simulated carrier, "
    "signed webhooks and test controls under /_sandbox/.",
    "console": "A web console: the sandbox's phones, conversations, campaigns and history.",
    "db": "The ledger database: its schema version, and migrating it (PostgreSQL).",
    "worker": "Send campaigns from PostgreSQL: run pump jobs until stopped (Ctrl-C, SIGTERM).",
    "completion": "Print the script that makes SHELL (bash, zsh or fish) complete ghl-sms "
    "commands.",
}


class LazyGroup(click.Group):
    """Commands loaded on demand, and the one place every command's errors are shown."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, from ``SUMMARIES`` (a command without one is loaded for it)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            summary = SUMMARIES.get(name)
            if summary is not None:
                shortened = click.Command(name, help=summary).get_short_help_str(limit)
                rows.append((name, shortened))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
        except known_errors() as exc:  # anticipated errors a command did not translate
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
