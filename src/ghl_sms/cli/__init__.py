"""The ``ghl-sms`` command line. Each command lives in its own module and is added here."""

from __future__ import annotations

import click

from ghl_sms import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
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


from ghl_sms.cli._ops import cancel, check, inbox, numbers, send, status, thread  # noqa: E402

for _command in (send, cancel, status, thread, inbox, check, numbers):
    cli.add_command(_command)

from ghl_sms.cli._preview import preview  # noqa: E402

cli.add_command(preview)

from ghl_sms.cli._demo import demo  # noqa: E402

cli.add_command(demo)

from ghl_sms.cli._webhooks import webhooks  # noqa: E402

cli.add_command(webhooks)

from ghl_sms.cli._sandbox import sandbox  # noqa: E402

cli.add_command(sandbox)

from ghl_sms.cli._mcp import doctor, mcp  # noqa: E402

cli.add_command(mcp)
cli.add_command(doctor)

from ghl_sms.cli._bulk import bulk  # noqa: E402

cli.add_command(bulk)
