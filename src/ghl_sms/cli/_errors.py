"""The CLI's one error path: exit codes (README), and errors as lines or as JSON."""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["EXIT_BLOCKED", "EXIT_FAILED", "EXIT_USAGE", "CommandError"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3


class CommandError(click.ClickException):
    """One or two lines on stderr and an exit code; never a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED, hint: str | None = None):
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it a ClassVar
        self.hint = hint

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        click.echo(f"Error: {self.message}", file=stream)
        if self.hint:
            click.echo(f"Hint: {self.hint}", file=stream)
