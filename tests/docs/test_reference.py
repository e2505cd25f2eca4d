"""The docs' reference parts match the code: every command in the CLI reference, every
MCP tool as ``tools/list`` shows it, every carrier error and GHL error hint in
Troubleshooting. ``GHL_SMS_DOCS_WRITE=1`` rewrites the generated sections instead of
failing on them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest
from mkdocs_click._docs import make_command_docs

from ghl_sms.cli import cli
from ghl_sms.ops.hints import _MESSAGE_HINTS
from ghl_sms.rules.carrier_errors import _TABLE
from ghl_sms.rules.preflight import ReasonCode
from support.docs import ROOT
from support.docs_reference import (
    carrier_errors_markdown,
    mcp_tools,
    mcp_tools_markdown,
    replace_section,
)

DOCS = ROOT / "docs"


def _command_paths(group: click.Group, prefix: str = "ghl-sms") -> list[str]:
    ctx = click.Context(group)
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            paths += _command_paths(command, f"{prefix} {name}")
    return paths


def _check_generated(page: Path, name: str, body: str) -> None:
    text = page.read_text(encoding="utf-8")
    current = replace_section(text, name, body)
    if os.environ.get("GHL_SMS_DOCS_WRITE") == "1":
        page.write_text(current, encoding="utf-8")
    assert current == text, (
        f"{page.name}: the generated section {name!r} is out of date; "
        "run GHL_SMS_DOCS_WRITE=1 pytest tests/docs/test_reference.py"
    )


def test_the_cli_reference_documents_every_command_and_subcommand() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    # mkdocs-click renders the reference from the commands themselves at build time...
    directive = r"^::: mkdocs-click\n    :module: ghl_sms\.cli\n    :command: cli\n"
    assert re.search(directive, page, re.M)
    generated = "\n".join(
        make_command_docs(
            prog_name="ghl-sms",
            command=cli,
            depth=1,
            style="table",
            list_subcommands=True,
            has_attr_list=True,  # as mkdocs.yml builds it: headings carry the full path
        )
    )
    headings = set(re.findall(r"^#+ (ghl-sms(?: [\w-]+)*) \{", generated, re.M))
    paths = _command_paths(cli)
    assert {"ghl-sms bulk send", "ghl-sms contacts show", "ghl-sms optouts remove",
            "ghl-sms locations add", "ghl-sms db upgrade"} <= set(paths)  # fmt: skip
    assert sorted(set(paths) - headings) == []
    # ...and the summary above it names every top-level command too.
    for path in paths:
        if path.count(" ") == 1:
            assert f"`{path}" in page, path


def test_the_mcp_page_shows_every_tool_as_tools_list_does() -> None:
    tools = mcp_tools()
    page = DOCS / "mcp.md"
    _check_generated(page, "mcp-tools", mcp_tools_markdown(tools))
    overview = page.read_text(encoding="utf-8").split("<!-- generated: mcp-tools")[0]
    listed = re.findall(r"^\| `(sms_\w+)` \|", overview, re.M)
    assert sorted(listed) == sorted(t.name for t in tools)


def test_troubleshooting_explains_every_carrier_error_and_ghl_error() -> None:
    page = DOCS / "troubleshooting.md"
    _check_generated(page, "carrier-errors", carrier_errors_markdown())
    text = page.read_text(encoding="utf-8").lower()
    assert {e.code for e in _TABLE} <= set(re.findall(r"^\| (\d{5}) \|", text, re.M))
    for fragment in _MESSAGE_HINTS:  # GHL's own messages the CLI and MCP explain
        assert fragment in text, fragment
    for code in ReasonCode:  # every preflight refusal and warning
        assert f"`{code}`" in text, code


def test_a_stale_generated_section_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- generated: x -->\nold\n<!-- end generated: x -->\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="out of date"):
        _check_generated(page, "x", "new\n")
    once = replace_section(page.read_text(encoding="utf-8"), "x", "new")
    assert "new" in once and "old" not in once
    assert replace_section(once, "x", "new") == once
