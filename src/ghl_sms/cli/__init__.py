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
    cli(prog_name="ghl-sms")


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
