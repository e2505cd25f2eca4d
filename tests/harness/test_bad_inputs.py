"""Every bad input of issue 12, one row each: the exact exit code and a message naming the fix.

CLI rows run the console script's own entry point in-process (support.fuzz_cli), on a
sandbox file in a temp dir and a FakeClock. Rows for servers that would otherwise keep
running (a port in use, a blank token) start the real command in a subprocess with a
timeout. The MCP rows are in test_bad_mcp_inputs.py.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ghl_sms._clock import Clock
from ghl_sms._settings import Settings
from ghl_sms.cli._app import AppContext
from support.fuzz import outbound_messages, raw_python_text
from support.fuzz_cli import CliCall, CliFuzzer
from support.fuzz_values import FILES, fixture_files
from support.stack import WEEKDAY_NOON

AVA, AVA_PHONE = "sbxCtReachable000001", "+14155550100"
BEN = "sbxCtSmsDnd000000001"
HUGO_PHONE = "+13055550100"
# 22:00 in San Francisco (Ava's number), 01:00 in Miami: quiet hours for both.
NIGHT = datetime(2026, 3, 5, 6, 0, tzinfo=UTC).timestamp()
Check = Callable[[CliFuzzer, CliCall], None]


@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    exit: int
    names: tuple[str, ...] = ()
    """Substrings the output must contain: what was wrong and the fix."""
    hides: tuple[str, ...] = ()
    """Substrings it must not contain (a token, raw library text)."""
    stdin: str | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    at: float = WEEKDAY_NOON
    before: tuple[tuple[str, ...], ...] = ()
    """Calls run first; each must exit 0."""
    then: Check | None = None
    app: Callable[[CliFuzzer], AppContext] | None = None


def nothing_sent(f: CliFuzzer, call: CliCall) -> None:
    texted = [m.texted for m in outbound_messages(f.sandbox_file).values()]
    assert texted == [], f"texted {texted}"


def sent_once(body: str, to: str = AVA_PHONE) -> Check:
    def check(f: CliFuzzer, call: CliCall) -> None:
        sent = [(m.texted, m.body) for m in outbound_messages(f.sandbox_file).values()]
        assert sent == [(to, body)], sent

    return check


def untouched(name: str) -> Check:
    def check(f: CliFuzzer, call: CliCall) -> None:
        assert (f.tmp / name).read_bytes() == FILES[name], f"{name} was changed"
        nothing_sent(f, call)

    return check


def json_error(f: CliFuzzer, call: CliCall) -> None:
    error = json.loads(call.stdout)["error"]
    assert {"code", "message", "hint"} <= set(error), error


def both(*checks: Check) -> Check:
    def check(f: CliFuzzer, call: CliCall) -> None:
        for c in checks:
            c(f, call)

    return check


def interrupted(f: CliFuzzer) -> AppContext:
    """Ctrl-C while the command opens the sandbox."""

    def factory(settings: Settings, clock: Clock) -> Any:
        raise KeyboardInterrupt

    return AppContext(environ={"GHL_SMS_DATA_DIR": str(f.tmp)}, clock=f.clock,
                      sandbox_factory=factory)  # fmt: skip


def default_sandbox(f: CliFuzzer) -> AppContext:
    """The CLI's own sandbox opening (not the harness's), on the data dir the env names."""
    return AppContext(environ={"GHL_SMS_DATA_DIR": str(f.tmp / "msg.txt")}, clock=f.clock)


SB = ("--sandbox",)
BAD_TOKEN = "pit-5ecret with space"
CRLF_TOKEN = "pit-5ecret\r\nX-Injected: 1"
OFFLINE = ("--base-url", "http://127.0.0.1:9", "--to", AVA_PHONE, "Hi")

ROWS: dict[str, Row] = {
    # 2. Two sources for one value: a usage error naming both.
    "2-send-to-and-contact": Row(
        ("send", *SB, "--to", AVA_PHONE, "--contact", BEN, "Hello"),
        2,
        ("--to", "--contact"),
        then=nothing_sent,
    ),
    "2-send-contact-and-conversation": Row(
        ("send", *SB, "--contact", AVA, "--conversation", "nope", "Hello"),
        2,
        ("--contact", "--conversation"),
        then=nothing_sent,
    ),
    "2-send-to-and-contact-json": Row(
        ("send", *SB, "--json", "--to", AVA_PHONE, "--contact", BEN, "Hello"),
        2,
        ("--to", "--contact"),
        then=both(nothing_sent, json_error),
    ),
    "2-check-to-and-contact": Row(
        ("check", *SB, "--to", AVA_PHONE, "--contact", BEN), 2, ("--to", "--contact")
    ),
    "2-thread-to-and-conversation": Row(
        ("thread", *SB, "--to", AVA_PHONE, "--conversation", "nope"),
        2,
        ("--to", "--conversation"),
    ),
    "2-send-text-and-file": Row(
        ("send", *SB, "--to", AVA_PHONE, "Hello", "--file", "msg.txt"),
        2,
        ("--file",),
        then=nothing_sent,
    ),
    "2-bulk-tag-and-csv": Row(
        ("bulk", "send", *SB, "--tag", "sandbox", "--csv", "list.csv", "Hi"),
        2,
        ("--tag", "--csv"),
        then=nothing_sent,
    ),
    "2-bulk-template-and-file": Row(
        ("bulk", "send", *SB, "--tag", "reachable", "Hi", "--file", "msg.txt"),
        2,
        ("--file",),
        then=nothing_sent,
    ),
    # 3. `send ... -` reads standard input.
    "3-send-dash-reads-stdin": Row(
        ("send", *SB, "--to", AVA_PHONE, "-"),
        0,
        (AVA_PHONE,),
        stdin="Hello from stdin\n",
        then=sent_once("Hello from stdin"),
    ),
    "3-send-file-dash-reads-stdin": Row(
        ("send", *SB, "--to", AVA_PHONE, "--file", "-"),
        0,
        stdin="Hello from stdin\n",
        then=sent_once("Hello from stdin"),
    ),
    # 5. Ordinary bad input is a usage error, not "a ghl-sms bug".
    "5-at-overflow": Row(
        ("send", *SB, "--to", AVA_PHONE, "--at", "9999999d", "Hi"),
        2,
        ("--at",),
        then=nothing_sent,
    ),
    "5-at-nonsense": Row(
        ("send", *SB, "--to", AVA_PHONE, "--at", "yesterday", "Hi"),
        2,
        ("--at",),
        then=nothing_sent,
    ),
    "5-data-dir-is-a-file": Row(
        ("send", *SB, "--to", AVA_PHONE, "Hi"),
        2,
        ("msg.txt",),
        app=default_sandbox,
    ),
    "5-corrupt-ledger": Row(
        ("send", *SB, "--ledger", "ledger-garbage.db", "--to", AVA_PHONE, "Hi"),
        2,
        ("ledger-garbage.db",),
        then=untouched("ledger-garbage.db"),
    ),
    # 7. Quiet hours: a marketing send is refused with the ways forward.
    "7-quiet-hours-refused": Row(
        ("send", *SB, "--to", AVA_PHONE, "Spring sale!"),
        3,
        ("--at", "--transactional"),
        at=NIGHT,
        then=nothing_sent,
    ),
    "7-quiet-hours-override": Row(
        ("send", *SB, "--to", AVA_PHONE, "--ignore-quiet-hours", "Spring sale!"),
        0,
        at=NIGHT,
        then=sent_once("Spring sale!"),
    ),
    "7-quiet-hours-transactional": Row(
        ("send", *SB, "--to", AVA_PHONE, "--transactional", "Your code is 1234"),
        0,
        at=NIGHT,
        then=sent_once("Your code is 1234"),
    ),
    "7-scheduled-into-quiet-hours": Row(
        ("send", *SB, "--to", AVA_PHONE, "--at", "2026-03-04T23:30:00-08:00", "Sale!"),
        3,
        ("--at", "--transactional"),
        then=nothing_sent,
    ),
    # 8. An idempotency key reused for another request is a conflict.
    "8-key-reused-other-text": Row(
        ("send", *SB, "--to", AVA_PHONE, "--key", "k1", "Second text"),
        2,
        ("k1", "text"),
        before=(("send", *SB, "--to", AVA_PHONE, "--key", "k1", "First text"),),
        then=sent_once("First text"),
    ),
    "8-key-reused-other-recipient": Row(
        ("send", *SB, "--to", HUGO_PHONE, "--key", "k1", "First text"),
        2,
        ("k1",),
        before=(("send", *SB, "--to", AVA_PHONE, "--key", "k1", "First text"),),
        then=sent_once("First text"),
    ),
    "8-key-reused-same-request": Row(
        ("send", *SB, "--to", AVA_PHONE, "--key", "k1", "First text"),
        0,
        before=(("send", *SB, "--to", AVA_PHONE, "--key", "k1", "First text"),),
        then=sent_once("First text"),
    ),
    # 9. GHL's merge syntax and ours, in single sends too.
    "9-ghl-merge-single-send": Row(
        ("send", *SB, "--contact", AVA, "Hi {{contact.first_name}}"),
        0,
        then=sent_once("Hi Ava"),
    ),
    "9-our-merge-single-send": Row(
        ("send", *SB, "--contact", AVA, "Hi {first_name|there}"), 0, then=sent_once("Hi Ava")
    ),
    # Stricter than a warning, on purpose: a placeholder is never texted as written.
    "9-unknown-placeholder-blocked": Row(
        ("send", *SB, "--contact", AVA, "--dry-run", "Hi {nickname}"),
        3,
        ("{nickname}", "fallback"),
        then=nothing_sent,
    ),
    "9-ghl-merge-bulk-preview": Row(
        (
            "bulk",
            "send",
            *SB,
            "--tag",
            "reachable",
            "--dry-run",
            "--json",
            "Hi {{contact.first_name}}",
        ),
        0,
        ("Hi Ava",),
        then=nothing_sent,
    ),  # fmt: skip
    # 10. Nobody to text is an error, not a completed campaign.
    "10-unknown-tag": Row(
        ("bulk", "send", *SB, "--tag", "nosuchtag", "Hi"), 2, ("nosuchtag",), then=nothing_sent
    ),
    "10-empty-csv": Row(
        ("bulk", "send", *SB, "--csv", "empty.csv", "Hi"), 2, ("empty.csv",), then=nothing_sent
    ),
    "10-header-only-csv": Row(
        ("bulk", "send", *SB, "--csv", "header.csv", "Hi"),
        2,
        ("header.csv",),
        then=nothing_sent,
    ),
    # 16. An existing ledger that is empty or not ours is refused, never re-created.
    "16-empty-ledger-file": Row(
        ("send", *SB, "--ledger", "ledger-empty.db", "--to", AVA_PHONE, "Hi"),
        2,
        ("ledger-empty.db",),
        then=untouched("ledger-empty.db"),
    ),
    "16-foreign-sqlite-ledger": Row(
        ("send", *SB, "--ledger", "foreign.db", "--to", AVA_PHONE, "Hi"),
        2,
        ("foreign.db",),
        then=nothing_sent,
    ),
    # 17. A malformed token is refused at the entry point, never echoed.
    "17-token-with-space": Row(
        ("send", *OFFLINE),
        2,
        ("GHL_TOKEN",),
        hides=("5ecret",),
        environ={"GHL_TOKEN": BAD_TOKEN, "GHL_LOCATION_ID": "loc"},
    ),
    "17-token-with-crlf": Row(
        ("send", *OFFLINE),
        2,
        ("GHL_TOKEN",),
        hides=("5ecret", "X-Injected"),
        environ={"GHL_TOKEN": CRLF_TOKEN, "GHL_LOCATION_ID": "loc"},
    ),
    "17-token-with-space-doctor-json": Row(
        ("doctor", "--json", "--base-url", "http://127.0.0.1:9"),
        2,
        ("GHL_TOKEN",),
        hides=("5ecret",),
        environ={"GHL_TOKEN": BAD_TOKEN, "GHL_LOCATION_ID": "loc"},
    ),
    # 21. No raw Python or library text.
    "21-text-file-not-utf8": Row(
        ("send", *SB, "--to", AVA_PHONE, "--file", "latin1.txt"),
        2,
        ("latin1.txt",),
        then=nothing_sent,
    ),
    "21-csv-not-utf8": Row(
        ("bulk", "send", *SB, "--csv", "latin1.csv", "--dry-run", "Hi"), 2, ("latin1.csv",)
    ),
    "21-missing-ed25519-key-file": Row(
        ("webhooks", "--check", "--ed25519-key", "missing.pem"), 2, ("missing.pem",)
    ),
    "21-repeat-window-not-a-number": Row(
        ("send", *SB, "--to", AVA_PHONE, "Hi"),
        2,
        ("GHL_SMS_REPEAT_WINDOW",),
        environ={"GHL_SMS_REPEAT_WINDOW": "ten minutes"},
        then=nothing_sent,
    ),
    "21-inbox-cursor-nonsense": Row(("inbox", *SB, "--cursor", "nope"), 2, ("--cursor",)),
    # 22. --json errors are JSON on stdout, with the same exit code; Ctrl-C is 130.
    "22-json-usage-error": Row(
        ("send", *SB, "--json", "--to", AVA_PHONE), 2, ("text",), then=json_error
    ),
    "22-json-unknown-message": Row(
        ("status", *SB, "--json", "noSuchMessage00000001"), 1, then=json_error
    ),
    "22-json-blocked-exit-3": Row(("send", *SB, "--json", "--contact", BEN, "Promo"), 3),
    "22-ctrl-c-is-130": Row(("send", *SB, "--to", AVA_PHONE, "Hi"), 130, app=interrupted),
    "22-ctrl-c-in-inbox-watch-is-130": Row(
        ("inbox", *SB, "--watch", "--max-polls", "2"), 130, app=interrupted
    ),
    # 23. Cancelling a message that is not scheduled says so.
    "23-cancel-a-sent-message": Row(
        ("cancel", *SB, "$MSG"),
        1,
        ("not scheduled",),
        before=(("send", *SB, "--to", AVA_PHONE, "Hello"),),
    ),
    # 24. .env as python-dotenv reads it; a missing --env-file is an error.
    "24-env-inline-comment": Row(
        ("check", *SB, "--env-file", "inline.env", "--to", "07400123456", "--json"),
        0,
        ("+447400123456",),
    ),
    "24-env-quoted-value": Row(
        ("check", *SB, "--env-file", "quoted.env", "--to", "07400123456", "--json"),
        0,
        ("+447400123456",),
    ),
    "24-missing-env-file": Row(
        ("check", *SB, "--env-file", "missing.env", "--to", AVA_PHONE), 2, ("missing.env",)
    ),
}


def _extra_files(tmp: Path) -> None:
    foreign = sqlite3.connect(tmp / "foreign.db")
    foreign.execute("CREATE TABLE notes (body TEXT)")
    foreign.commit()
    foreign.close()
    (tmp / "inline.env").write_text("GHL_SMS_REGION=GB # the UK office\n")
    (tmp / "quoted.env").write_text("GHL_SMS_REGION='GB'\n")


@pytest.fixture
def fuzzer() -> Iterator[CliFuzzer]:
    with tempfile.TemporaryDirectory(prefix="ghl-sms-harness-") as tmp:
        fixture_files(Path(tmp))
        _extra_files(Path(tmp))
        yield CliFuzzer(Path(tmp))


def assert_clear(
    call: CliCall, exit_code: int, names: tuple[str, ...], hides: tuple[str, ...]
) -> None:
    output = call.output
    assert call.exception is None, f"{type(call.exception).__name__}: {call.exception}\n{output}"
    assert call.exit_code == exit_code, f"exit {call.exit_code}, expected {exit_code}:\n{output}"
    assert "Traceback" not in output and "ghl-sms bug" not in output, output
    assert raw_python_text(call.stderr) is None, output
    for name in names:
        assert name in output, f"{name!r} not in:\n{output}"
    for secret in hides:
        assert secret not in output, f"{secret!r} leaked:\n{output}"


@pytest.mark.parametrize("row", [pytest.param(r, id=name) for name, r in ROWS.items()])
def test_bad_input_gets_the_documented_exit_code_and_names_the_fix(
    fuzzer: CliFuzzer, row: Row
) -> None:
    fuzzer.clock.t = row.at
    for before in row.before:
        first = fuzzer.call_and_check(before)
        assert first.exit_code == 0, first.output
    args = fuzzer.substitute(row.args)
    app = row.app(fuzzer) if row.app else None
    call = fuzzer.run(args, row.stdin, environ=row.environ, app=app)
    assert_clear(call, row.exit, row.names, row.hides)
    if row.then:
        row.then(fuzzer, call)


def test_unknown_ids_get_one_exit_code_everywhere(fuzzer: CliFuzzer) -> None:
    """22: an unknown message or campaign id is the same exit code for every command."""
    calls = [
        ("status", *SB, "noSuchMessage00000001"),
        ("cancel", *SB, "noSuchMessage00000001"),
        ("bulk", "status", *SB, "cmp_000000000000"),
        ("bulk", "report", *SB, "cmp_000000000000"),
        ("bulk", "pause", *SB, "cmp_000000000000"),
        ("bulk", "resume", *SB, "cmp_000000000000"),
        ("bulk", "cancel", *SB, "cmp_000000000000"),
    ]
    codes = {}
    for args in calls:
        call = fuzzer.run(args)
        assert "Traceback" not in call.output and raw_python_text(call.stderr) is None
        codes[" ".join(args)] = call.exit_code
    assert len(set(codes.values())) == 1 and set(codes.values()) <= {1, 2}, codes


def test_json_errors_keep_the_exit_code_of_the_plain_error(fuzzer: CliFuzzer) -> None:
    """22: --json changes where the error goes, never the exit code."""
    for args in (
        ("send", *SB, "--to", AVA_PHONE, "--contact", BEN, "Hi"),
        ("send", *SB, "--to", AVA_PHONE, "--at", "9999999d", "Hi"),
        ("status", *SB, "noSuchMessage00000001"),
        ("bulk", "send", *SB, "--tag", "nosuchtag", "Hi"),
        ("check", *SB, "--contact", BEN),
    ):
        plain, as_json = fuzzer.run(args), fuzzer.run((*args, "--json"))
        assert plain.exit_code == as_json.exit_code, (args, plain.output, as_json.output)
        assert json.loads(as_json.stdout), as_json.output


# --- servers: the real command in a subprocess, so one that serves anyway is stopped ------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run_command(tmp: Path, *args: str, env: Mapping[str, str] | None = None) -> CliCall:
    """``ghl-sms ARGS`` as a user runs it; a server still running after 20 s is a failure."""
    environ = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "GHL_SMS_DATA_DIR": str(tmp),
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        **(env or {}),
    }  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ghl_sms", *args], cwd=tmp, env=environ, capture_output=True,
            text=True, timeout=20, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"`ghl-sms {' '.join(args)}` still ran after 20 s: {timeout.stderr!r}")
    return CliCall(list(args), done.returncode, done.stdout, done.stderr, None)


MCP_TOKEN = {"GHL_SMS_MCP_TOKEN": "t" * 32}


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(("sandbox", "--db", ":memory:"), {}, id="4-sandbox"),
        pytest.param(("mcp", "--sandbox", "--http"), MCP_TOKEN, id="4-mcp-http"),
        pytest.param(("webhooks",), {}, id="4-webhooks"),
    ],
)
def test_a_port_in_use_is_one_line_and_exit_2(
    tmp_path: Path, busy_port: int, args: tuple[str, ...], env: dict[str, str]
) -> None:
    call = run_command(tmp_path, *args, "--port", str(busy_port), env=env)
    assert_clear(call, 2, (str(busy_port), "in use", "--port"), ())
    assert len(call.stderr.strip().splitlines()) <= 3, call.stderr


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        pytest.param(("sandbox", "--port", "99999"), {}, ("--port",), id="5-sandbox-port-99999"),
        pytest.param(
            ("sandbox", "--port", "0", "--db", "no/such/dir/sandbox.db"),
            {},
            ("no/such/dir",),
            id="5-sandbox-db-in-missing-folder",
        ),  # fmt: skip
        pytest.param(
            ("mcp", "--sandbox", "--http", "--port", "0", "--http-token", "   "),
            {},
            ("--http-token",),
            id="19-blank-http-token",
        ),  # fmt: skip
    ],
)
def test_a_server_refuses_bad_settings_before_serving(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], names: tuple[str, ...]
) -> None:
    call = run_command(tmp_path, *args, env=env)
    assert_clear(call, 2, names, ())
