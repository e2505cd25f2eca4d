"""Checks on what a command was given, before it talks to GHL: one source for each value,
no option silently ignored, a message's text read from a file or standard input."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from ghl_sms.cli._app import EXIT_USAGE, CommandError

__all__ = ["non_empty_id", "one_source", "read_text", "refuse_unused", "text_or_file"]


def one_source(what: str, **given: object) -> None:
    """Refuse two sources for one value (``--to`` and ``--contact``): one would win silently.

    ``given`` maps each option's name (underscores for dashes) to its value; more than one
    set is a usage error that names them all.
    """
    named = [f"--{name.replace('_', '-')}" for name, value in given.items() if value]
    if len(named) < 2:
        return
    listed = ", ".join(named[:-1]) + f" and {named[-1]}"
    raise CommandError(
        f"{listed} were {'both' if len(named) == 2 else 'all'} given; {what} takes exactly "
        "one of them.",
        EXIT_USAGE,
        hint="Keep only one of them and run it again.",
    )


_OTHER_WAY = {"with": "without", "without": "with"}


def refuse_unused(option: str, when: str, *names: str) -> None:
    """Options typed on the command line that have no effect here are a usage error,
    not silently ignored (``inbox --watch --cursor X`` would ignore the cursor)."""
    ctx = click.get_current_context()
    typed = [
        param.opts[0]
        for param in ctx.command.params
        if param.name in names
        and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
    ]
    if typed:
        raise CommandError(
            f"{', '.join(typed)} {'has' if len(typed) == 1 else 'have'} no effect {when} {option}.",
            EXIT_USAGE,
            hint=f"Leave out {', '.join(typed)}, or run it {_OTHER_WAY[when]} {option}.",
        )


def read_text(path: Path) -> str:
    """A message's text from a UTF-8 file, or standard input for ``-`` (as ``preview -``);
    the final newline an editor or ``echo`` adds is not part of the message."""
    where = "standard input" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read()
        else:
            raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"The text in {where} is not UTF-8 (byte {exc.start + 1} cannot be read).",
            EXIT_USAGE,
            hint="Save it as UTF-8 (most editors offer it under Save As / Encoding).",
        ) from None
    except OSError as exc:
        raise CommandError(
            f"Cannot read the text from {where}: {exc.strerror or exc}.",
            EXIT_USAGE,
            hint="Check the path, or give the text as an argument.",
        ) from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        raise CommandError(
            f"The text from {where} is empty.",
            EXIT_USAGE,
            hint="Give the message text in the file, on standard input, or as an argument.",
        )
    return text


def text_or_file(
    argument: str | None, file: Path | None, *, what: str, allow_blank: bool = False
) -> str:
    """A message's text (``what``: ``text`` or ``template``) from its argument, --file, or
    standard input for ``-``: exactly one of them, or a usage error. ``allow_blank`` lets
    an empty argument through, for the caller to judge."""
    name = what.upper()
    if argument is not None and file is not None:
        raise CommandError(
            f"The {what} was given twice: as the {name} argument and with --file.",
            EXIT_USAGE,
            hint=f"Keep one: the {name} argument, or --file PATH (- reads standard input).",
        )
    body = read_text(file) if file is not None else argument
    if body == "-":
        body = read_text(Path("-"))
    if body is None or (not allow_blank and not body.strip()):
        raise CommandError(
            f"Give the {what} as an argument, with --file PATH, or - to read standard input.",
            EXIT_USAGE,
        )
    return body


def non_empty_id(value: str | None, what: str, where: str) -> None:
    """An id given as "" (an unset shell variable, say) is a usage error, not GHL's 404."""
    if value is not None and not value.strip():
        raise CommandError(
            f"The {what} is empty.", EXIT_USAGE, hint=f"{where} shows the {what}s to use."
        )
