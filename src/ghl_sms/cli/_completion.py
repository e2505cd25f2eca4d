"""``ghl-sms completion bash|zsh|fish``: the shell completion script, from click itself.

The script calls ``ghl-sms`` back with ``_GHL_SMS_COMPLETE`` set; click's entry point
answers with the commands, options and choices that fit what was typed.
"""

from __future__ import annotations

import click

__all__ = ["COMPLETE_VAR", "completion", "completion_script"]

PROG_NAME = "ghl-sms"
COMPLETE_VAR = "_GHL_SMS_COMPLETE"  # click's name for it: _{PROG_NAME}_COMPLETE
SHELLS = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """The script that makes ``shell`` complete ghl-sms commands."""
    from click.shell_completion import get_completion_class

    from ghl_sms.cli import cli

    completer = get_completion_class(shell)
    assert completer is not None, shell  # SHELLS are click's own
    return completer(cli, {}, PROG_NAME, COMPLETE_VAR).source()


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the script that makes SHELL (bash, zsh or fish) complete ghl-sms commands.

    Load it from your shell's startup file; commands, subcommands, options and their
    choices then complete with Tab.

    \b
    Examples:
      echo 'eval "$(ghl-sms completion bash)"' >> ~/.bashrc
      echo 'eval "$(ghl-sms completion zsh)"' >> ~/.zshrc
      ghl-sms completion fish > ~/.config/fish/completions/ghl-sms.fish
    """
    click.echo(completion_script(shell), nl=False)
