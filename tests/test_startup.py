"""Starting fast: what `ghl-sms --help`, `ghl-sms preview` and `ghl-sms mcp` import before
they answer, and that the shortcuts which make them fast (the lazy package exports, the
--help listing) say the same as what they stand for.

Each start runs in a fresh interpreter (``python -c``) that reports ``sorted(sys.modules)``
at the moment it answers; no timing here (bench/cli_startup.py and bench/mcp_startup.py
measure that).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click
import pytest

# What no start may load: the HTTP client to GHL and its models, the ledger and its
# storage, the bulk engine, the sandbox, the phone and text rules' big tables, the
# credentials' token manager and keyring, and the web servers.
HEAVY_OURS = (
    "ghl_sms.ghl._client",
    "ghl_sms.ghl._models",
    "ghl_sms.ghl._oauth",
    "ghl_sms.ops.ledger",
    "ghl_sms.ops.service",
    "ghl_sms.ops.models",
    "ghl_sms.ops.bulk",
    "ghl_sms.ops.storage",
    "ghl_sms.ops.contacts",
    "ghl_sms.ops.history",
    "ghl_sms.rules.phones",
    "ghl_sms.rules.preflight",
    "ghl_sms.sandbox._sandbox",
    "ghl_sms.sandbox.store",
    "ghl_sms.accounts._manager",
    "ghl_sms.webhooks",
    "ghl_sms.console",
    "ghl_sms._serve._server",
    "ghl_sms.mcp_server.http",
)
HEAVY_THEIRS = ("phonenumbers", "regex", "sqlite3", "_sqlite3", "keyring", "psycopg")
"""Not needed by any of these starts (the MCP SDK itself loads httpx2, pydantic,
starlette, uvicorn, cryptography and rich, so only --help and preview can do without)."""
HEAVY_FOR_THE_CLI = ("httpx2", "pydantic", "mcp", "rich", "starlette", "uvicorn", "dotenv")

INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}},
}  # fmt: skip
REQUESTS = [
    INITIALIZE,
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]

# Runs the real `ghl-sms ...` and reports the modules when it has answered: at exit for a
# command, inside the first tools/list for `mcp` (stdout is the protocol: stderr then).
RUN_COMMAND = """
import json, sys
sys.argv = ["ghl-sms", *sys.argv[1:]]
from ghl_sms.cli import main
try:
    main()
except SystemExit:
    pass
print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
RUN_MCP = """
import json, os, sys
from ghl_sms.mcp_server import server
listed = server._CompactServer.list_tools
async def list_tools(self):
    tools = await listed(self)
    data = os.environ["GHL_SMS_DATA_DIR"]
    report = {"modules": sorted(sys.modules), "files": sorted(os.listdir(data))}
    print("MODULES " + json.dumps(report), file=sys.stderr, flush=True)
    return tools
server._CompactServer.list_tools = list_tools
sys.argv = ["ghl-sms", *sys.argv[1:]]
from ghl_sms.cli import main
main()
"""


def environment(tmp: Path, **extra: str) -> dict[str, str]:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "GHL_SMS_DATA_DIR": str(data),
            **extra}  # fmt: skip


def report(stderr: str) -> Any:
    lines = [line for line in stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, stderr
    return json.loads(lines[0].removeprefix("MODULES "))


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` (or their submodules) among ``modules``."""
    return [m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names)]


def command_modules(tmp: Path, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND, *args],
        env=environment(tmp),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules: list[str] = report(result.stderr)
    return modules


def test_help_loads_the_command_line_and_nothing_of_what_it_lists(tmp_path: Path) -> None:
    modules = command_modules(tmp_path, "--help")
    ours = [m for m in modules if m.startswith("ghl_sms")]
    assert ours == ["ghl_sms", "ghl_sms._lazy", "ghl_sms.cli", "ghl_sms.cli._errors"]
    assert loaded(modules, HEAVY_FOR_THE_CLI + HEAVY_THEIRS) == []


def test_preview_loads_the_text_rules_only(tmp_path: Path) -> None:
    modules = command_modules(tmp_path, "preview", "Hello there")
    assert "ghl_sms.rules.segments" in modules  # it did run
    assert loaded(modules, HEAVY_OURS) == []
    unwanted = tuple(n for n in HEAVY_FOR_THE_CLI + HEAVY_THEIRS if n not in ("rich", "regex"))
    assert loaded(modules, unwanted) == []


def mcp_start(tmp: Path, *args: str, **env: str) -> dict[str, Any]:
    """Modules and data files when `ghl-sms mcp ...` answers its first tools/list. Its
    stdin stays open until then, as a client's does."""
    with subprocess.Popen(
        [sys.executable, "-c", RUN_MCP, "mcp", *args],
        env=environment(tmp, **env),
        cwd=tmp,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        watchdog = threading.Timer(120, process.kill)  # a hung server fails, not the run
        watchdog.start()
        try:
            process.stdin.write("".join(json.dumps(r) + "\n" for r in REQUESTS))
            process.stdin.flush()
            answers: list[dict[str, Any]] = []
            while not answers or answers[-1].get("id") != 2:
                line = process.stdout.readline()
                if not line:
                    break
                answers.append(json.loads(line))
            process.stdin.close()  # the server ends at the end of its input
            stderr = process.stderr.read()
            process.wait()
        finally:
            watchdog.cancel()
    assert [a.get("id") for a in answers] == [1, 2], stderr[-2000:]
    assert len(answers[1]["result"]["tools"]) > 5
    answered: dict[str, Any] = report(stderr)
    return answered


CONFIG = """
[locations.dental]
location_id = "sandboxDemoLocation1"
token_env = "GHL_TOKEN_DENTAL"

[locations.fitness]
location_id = "sandboxDemoLocation2"
token = "pit-11111111-2222-3333-4444-555555555555"
"""


# Without bytecode writing the tools/list is built at every start (no cached listing).
COLD = {"PYTHONDONTWRITEBYTECODE": "1"}


@pytest.mark.parametrize("setup", ["sandbox", "profiles"])
def test_mcp_answers_tools_list_before_opening_or_importing_the_rest(
    tmp_path: Path, setup: str
) -> None:
    if setup == "sandbox":
        start = mcp_start(tmp_path, "--sandbox", **COLD)
    else:
        config = tmp_path / "config.toml"
        config.write_text(CONFIG)
        config.chmod(0o600)
        token = "pit-aaaaaaaa-2222-3333-4444-555555555555"
        start = mcp_start(tmp_path, "--config", str(config), GHL_TOKEN_DENTAL=token, **COLD)
    assert "ghl_sms.mcp_server._tools" in start["modules"]  # built here, not cached
    assert loaded(start["modules"], HEAVY_OURS + HEAVY_THEIRS) == []
    assert start["files"] == []  # no ledger, no sandbox file: they open on first use


def test_a_second_mcp_start_answers_from_the_cached_listing_without_the_tools(
    tmp_path: Path,
) -> None:
    mcp_start(tmp_path, "--sandbox")  # builds the listing (unless a start already did)
    again = mcp_start(tmp_path, "--sandbox")
    tools = ("ghl_sms.mcp_server._tools", "ghl_sms.mcp_server._models", "ghl_sms.rules")
    assert loaded(again["modules"], HEAVY_OURS + HEAVY_THEIRS + tools) == []


def test_help_lists_every_command_as_the_command_itself_would() -> None:
    from ghl_sms.cli import COMMANDS, SUMMARIES, cli

    ctx = click.Context(cli, info_name="ghl-sms")
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and not command.hidden, name
        assert SUMMARIES.get(name) == command.get_short_help_str(10_000), name
    for width in (60, 80, 100):
        ours, clicks = ctx.make_formatter(), ctx.make_formatter()
        ours.width = clicks.width = width
        cli.format_commands(ctx, ours)
        click.Group.format_commands(cli, ctx, clicks)
        assert ours.getvalue() == clicks.getvalue()


@pytest.mark.parametrize(
    "package", ["ghl_sms", "ghl_sms.ghl", "ghl_sms.accounts", "ghl_sms.sandbox", "ghl_sms._serve"]
)
def test_a_lazy_package_gives_every_name_it_lists(package: str) -> None:
    module = importlib.import_module(package)
    listed = set(module.__all__)
    assert listed <= set(dir(module))
    for name in listed:
        value = getattr(module, name)
        assert getattr(module, name) is value  # found once, then kept
    with pytest.raises(AttributeError, match="no attribute 'NotAThing'"):
        module.NotAThing  # noqa: B018


def test_the_contacts_tool_limit_is_the_directorys() -> None:
    from ghl_sms.mcp_server import _contacts
    from ghl_sms.ops import contacts

    assert _contacts.DND_LOOKUP_LIMIT == contacts.DND_LOOKUP_LIMIT
