"""``ghl-sms preview``: how a text will be encoded, split and billed. Needs no credentials."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ghl_sms.cli._errors import EXIT_USAGE, CommandError
from ghl_sms.rules.segments import (
    GsmSuggestion,
    NonGsmCharacter,
    SegmentReport,
    count_segments,
    gsm_suggestion,
)
from ghl_sms.rules.text import MAX_SMS_LENGTH, message_length

__all__ = ["preview", "preview_data"]

_UNIT_LABEL = {"septets": "GSM-7 septets", "utf16_units": "UTF-16 units"}


def _name(char: str) -> str:
    return " + ".join(unicodedata.name(ch, f"U+{ord(ch):04X}") for ch in char)


def _shown(char: str) -> str:
    """The character itself when it is visible; NBSP, ZWSP, TAB... can't be seen."""
    category = unicodedata.category(char[0])
    if category[0] in "LNPS":
        return char
    return "(space)" if category == "Zs" or char == "\t" else "(invisible)"


def _instead(replacement: str | None) -> str:
    if replacement is None:
        return "(none)"
    if replacement == "":
        return "(remove)"
    return "(space)" if replacement == " " else replacement


def _character(entry: NonGsmCharacter) -> dict[str, Any]:
    return {
        "char": entry.char,
        "code_points": list(entry.code_points),
        "name": _name(entry.char),
        "count": entry.count,
        "replacement": entry.replacement,
    }


def preview_data(text: str) -> dict[str, Any]:
    """The ``--json`` object. Keys are stable; new keys may be added, none removed.

    ``characters`` is the size in ``unit``: septets for GSM-7 (an extension character
    such as ``{`` or ``€`` counts 2), UTF-16 code units for UCS-2 (an emoji counts 2).
    """
    report = count_segments(text)
    suggestion = gsm_suggestion(text, report)
    length = message_length(text)
    return {
        "encoding": report.encoding,
        "segments": report.segments,
        "characters": report.units,
        "unit": report.unit,
        "per_segment": list(report.per_segment),
        "capacity_per_segment": report.capacity,
        "remaining_in_last": report.remaining_in_last,
        "graphemes": report.graphemes,
        "length": length,
        "max_length": MAX_SMS_LENGTH,
        "too_long": length > MAX_SMS_LENGTH,
        "non_gsm_characters": [_character(c) for c in report.non_gsm_characters],
        "if_replaced": _if_replaced(suggestion) if report.encoding == "UCS-2" else None,
    }


def _if_replaced(suggestion: GsmSuggestion) -> dict[str, Any]:
    return {
        "becomes_gsm": suggestion.becomes_gsm,
        "segments": suggestion.segments_after,
        "segments_saved": suggestion.segments_saved,
    }


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _render(out: Console, text: str, report: SegmentReport, data: dict[str, Any]) -> None:
    summary = Table(box=None, show_header=False, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column()
    forced = len(report.non_gsm_characters)
    encoding: str = report.encoding
    if forced:
        encoding += f" (forced by {_plural(forced, 'character')})"
    summary.add_row("Encoding", encoding)
    summary.add_row("Parts", str(report.segments))
    used = f"{report.units:,} {_UNIT_LABEL[report.unit]}"
    if report.is_multipart:
        sizes = " + ".join(str(size) for size in report.per_segment)
        used += f" ({sizes}); {report.remaining_in_last} left in the last part of {report.capacity}"
    else:
        used += f"; {report.remaining_in_last} left of {report.capacity}"
    summary.add_row("Used", used)
    length = f"{data['length']:,} of {MAX_SMS_LENGTH:,} characters"
    if data["too_long"]:
        length += ": too long, GHL will refuse it"
    summary.add_row("Length", length)
    out.print(summary)
    if not report.non_gsm_characters:
        return
    out.print()
    chars = Table(box=None, pad_edge=False, title="Characters forcing UCS-2", title_justify="left")
    for column in ("Char", "Code point", "Name", "Count", "GSM-7 instead"):
        chars.add_column(column)
    for entry in report.non_gsm_characters:
        chars.add_row(
            Text(_shown(entry.char)),
            " ".join(entry.code_points),
            Text(_name(entry.char)),
            str(entry.count),
            Text(_instead(entry.replacement)),
        )
    out.print(chars)
    replaced = data["if_replaced"]
    if replaced["becomes_gsm"]:
        saved = replaced["segments_saved"]
        effect = (
            f"saves {_plural(saved, 'part')}" if saved > 0
            else "same number of parts" if saved == 0
            else f"costs {_plural(-saved, 'more part')}"
        )  # fmt: skip
        parts = _plural(replaced["segments"], "part")
        out.print(f"Replacing them makes it GSM-7: {parts} ({effect}).")
    else:
        stuck = " ".join(_shown(c.char) for c in report.non_gsm_characters if c.replacement is None)
        out.print(Text(f"It stays UCS-2 whatever is replaced: {stuck} has no GSM-7 equivalent."))


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def preview(text: str, as_json: bool) -> None:
    """Show how TEXT will be encoded and split into billed SMS parts.

    Lists the characters that force UCS-2 (70 characters a part instead of 160) and what
    to type instead. Use - to read the text from standard input. Needs no credentials.

    Example: ghl-sms preview "It’s ready — see you at 5"
    """
    if text == "-":
        try:
            text = sys.stdin.read().removesuffix("\n")
        except UnicodeDecodeError:
            raise CommandError(
                "The text on standard input is not UTF-8.",
                EXIT_USAGE,
                hint="Save it as UTF-8, or give the text as an argument.",
            ) from None
    if not text.strip():
        raise CommandError("The message is empty; give the text to preview.", EXIT_USAGE)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv arrive as lone surrogates
        raise CommandError("The text is not valid UTF-8.", EXIT_USAGE) from None
    data = preview_data(text)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _render(Console(highlight=False, soft_wrap=True), text, count_segments(text), data)
