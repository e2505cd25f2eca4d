"""Every code sample in the documentation runs, against the sandbox, so the docs cannot drift.

Each page's samples run in order in one temporary data directory and sandbox (a page's
later samples see what its earlier ones sent): ``ghl-sms`` lines in-process through the
CLI harness, with ``--sandbox`` added where the command takes it, and the exit code the
line documents; Python with ``exec``; JSON and TOML parsed. A block that can't run carries
a ``<!-- not-run: why -->`` marker (tests/support/docs.py has the conventions).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import click
import pytest

from ghl_sms.cli import cli
from support.cli import CliHarness, harness
from support.docs import ROOT, Block, ShellLine, blocks, pages, shell_lines

SHELL = {"bash", "sh", "shell", "console"}
RUNNABLE = SHELL | {"python", "json", "toml"}
_CAMPAIGN = re.compile(r"\bcmp_[0-9a-f]{12}\b")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
# Commands that serve until stopped, unless these options make them answer and exit.
SERVERS = {"sandbox", "mcp", "console", "webhooks", "worker"}
ONE_SHOT = {"--check", "--help", "-h"}


def _command(argv: list[str]) -> tuple[click.Command, int]:
    """The subcommand ``argv`` (after ``ghl-sms``) names, and how many words name it."""
    command: click.Command = cli
    depth = 0
    ctx = click.Context(cli)
    for word in argv:
        if not isinstance(command, click.Group) or word not in command.list_commands(ctx):
            break
        found = command.get_command(ctx, word)
        assert found is not None
        command, depth = found, depth + 1
    return command, depth


def _with_sandbox(argv: list[str]) -> list[str]:
    command, depth = _command(argv)
    takes_it = any("--sandbox" in param.opts for param in command.params)
    if not takes_it or "--sandbox" in argv:
        return argv
    return [*argv[:depth], "--sandbox", *argv[depth:]]


class PageRun:
    """One page's samples, sharing a data directory, a sandbox and exported variables."""

    def __init__(self, tmp: Path) -> None:
        self.h: CliHarness = harness(tmp)
        self.env: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.ran = 0

    def run(self, block: Block) -> None:
        if block.title is not None:  # a file later samples read
            (self.h.tmp / block.title).write_text(block.body, encoding="utf-8")
        if block.lang in SHELL:
            for line in shell_lines(block):
                self._shell(block, line)
        elif block.lang == "python":
            code = compile(block.body, block.where, "exec")
            exec(code, {"__name__": "__main__"})
        elif block.lang == "json":
            json.loads(block.body)
        elif block.lang == "toml":
            tomllib.loads(block.body)
        self.ran += 1

    def _shell(self, block: Block, line: ShellLine) -> None:
        where = f"{block.page}:{line.line}"
        if line.argv[0] == "export":
            assert all(_ASSIGNMENT.match(word) for word in line.argv[1:]), where
            self.env.update(word.split("=", 1) for word in line.argv[1:])
            return
        assert line.argv[0] == "ghl-sms", (
            f"{where}: only ghl-sms and export lines run; mark the block "
            f"<!-- not-run: why --> or rewrite {line.argv[0]!r}"
        )
        argv = [self.ids.get(word, word) for word in line.argv[1:]]
        assert argv[:1] == [] or argv[0] not in SERVERS or ONE_SHOT & set(argv), (
            f"{where}: `ghl-sms {argv[0]}` serves until stopped; mark the block "
            "<!-- not-run: a long-running server -->"
        )
        for placeholder in ("MESSAGE_ID", "CAMPAIGN_ID"):
            assert placeholder not in argv, f"{where}: no earlier sample made a {placeholder}"
        result = self.h.run(*_with_sandbox(argv), env=self.env)
        assert result.exit_code == line.exit_code, (
            f"{where}: `{' '.join(line.argv)}` exited {result.exit_code}, the docs say "
            f"{line.exit_code}\n{result.output}"
        )
        assert "Traceback" not in result.output, where
        self._remember_ids(result.output)

    def _remember_ids(self, output: str) -> None:
        campaigns = _CAMPAIGN.findall(output)
        if campaigns:
            self.ids["CAMPAIGN_ID"] = campaigns[-1]
        with self.h.sandbox() as sandbox:
            row = sandbox.store.conn.execute(
                "SELECT id FROM messages WHERE direction = 'outbound' ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
        if row is not None:
            self.ids["MESSAGE_ID"] = row[0]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_every_sample_of_the_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # Python samples write their files here
    run = PageRun(tmp_path)
    samples = [b for b in blocks(page) if b.not_run is None]
    for block in samples:
        assert block.lang in RUNNABLE or block.title is not None, (
            f"{block.where}: a ```{block.lang or '(no language)'} block can't run; give it "
            "a title (a file later samples read) or a <!-- not-run: why --> marker"
        )
        run.run(block)
    assert run.ran == len(samples)


def test_the_samples_cover_every_page_and_each_face() -> None:
    every = [b for page in pages() for b in blocks(page)]
    samples = [b for b in every if b.not_run is None]
    assert {b.page for b in samples} >= {"README.md", "docs/getting-started.md", "docs/bulk.md"}
    assert {"bash", "python", "json"} <= {b.lang for b in samples}
    # Most of the docs run: a marker is the exception, each with its reason.
    marked = [b for b in every if b.not_run is not None]
    assert len(samples) > len(marked), [f"{b.where}: {b.not_run}" for b in marked]
    assert all(b.not_run.strip() for b in marked)


def test_a_marker_without_a_reason_or_a_wrong_exit_code_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-run: a server -->\n```bash\nghl-sms sandbox\n```\n\n"
        "```bash\nghl-sms preview 'Hi'   # exit 3\n```\n",
        encoding="utf-8",
    )
    served, preview = blocks(page, root=tmp_path)
    assert served.not_run == "a server" and preview.not_run is None
    run = PageRun(tmp_path)
    with pytest.raises(AssertionError, match="exited 0, the docs say 3"):
        run.run(preview)


@pytest.mark.parametrize("page", pages(), ids=_page_id)
def test_commands_are_in_fenced_blocks(page: Path) -> None:
    # An indented code block would escape the samples test: fence it (and mark it).
    fenced = {n for b in blocks(page) for n in range(b.line, b.line + b.body.count("\n") + 2)}
    lines = page.read_text(encoding="utf-8").splitlines()
    indented = [
        f"{_page_id(page)}:{number}"
        for number, line in enumerate(lines, start=1)
        if number not in fenced and re.match(r"^ {4,}(ghl-sms|pip|python|export) ", line)
    ]
    assert indented == []
