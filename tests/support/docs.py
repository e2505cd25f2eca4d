"""The fenced code blocks of the documentation (docs/*.md and README.md), as samples to run.

A block is a sample unless the line before it (blank lines aside) is a marker saying why
it can't run, e.g. ``<!-- not-run: needs a real GHL token -->``. Conventions the samples
follow so they can run against the sandbox:

- A shell line ``ghl-sms ...`` runs in-process; ``# exit N`` in its comment is the exit
  code it must give (0 otherwise). ``export NAME=value`` sets a variable for the page's
  later lines. Any other shell line needs the block marked.
- ``MESSAGE_ID`` and ``CAMPAIGN_ID`` stand for the message and campaign the page's
  earlier samples made.
- A block with a title (```` ```csv title="list.csv" ````) is a file the page's later
  samples read: it is written before they run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "Block", "ShellLine", "blocks", "pages", "shell_lines"]

ROOT = Path(__file__).resolve().parents[2]

_OPEN = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)(?P<attrs>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*not-run:\s*(?P<reason>.+?)\s*-->\s*$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_EXIT = re.compile(r"#.*\bexit (?P<code>\d+)\b")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    body: str
    title: str | None
    not_run: str | None
    """Why the block can't run, from its marker; None for a sample."""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class ShellLine:
    line: int
    argv: list[str]
    exit_code: int


def pages() -> list[Path]:
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def blocks(path: Path, *, root: Path = ROOT) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    previous = ""  # the last non-blank line outside a block
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        if opening is None:
            if lines[i].strip():
                previous = lines[i]
            i += 1
            continue
        indent = opening["indent"]
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = "\n".join(line.removeprefix(indent) for line in lines[i + 1 : end])
        marker = _MARKER.match(previous)
        title = _TITLE.search(opening["attrs"])
        found.append(
            Block(
                page=str(path.relative_to(root)),
                line=i + 1,
                lang=opening["lang"].lower(),
                body=body + "\n",
                title=title["title"] if title else None,
                not_run=marker["reason"] if marker else None,
            )
        )
        previous = ""
        i = end + 1
    return found


def shell_lines(block: Block) -> list[ShellLine]:
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    commands: list[ShellLine] = []
    pending, start = "", 0
    for number, raw in enumerate(block.body.splitlines(), start=block.line + 1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        text, pending = pending + raw, ""
        argv = shlex.split(text, comments=True)
        if not argv:
            continue
        expected = _EXIT.search(text)
        commands.append(ShellLine(start, argv, int(expected["code"]) if expected else 0))
    return commands
