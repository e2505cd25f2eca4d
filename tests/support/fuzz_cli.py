"""The CLI under the property harness: its real entry point in-process, and its invariants.

``ghl_sms.cli.main`` (the console script) wraps the click group with the last-resort error
handling; tests usually call the group directly and so never see what a user sees when an
error escapes. ``ConsoleScript`` runs ``main`` itself inside click's ``CliRunner``, with
the test's ``AppContext`` (sandbox file in a temp dir, FakeClock) injected as the group's
``obj``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ghl_sms._clock import FakeClock
from ghl_sms.cli._app import AppContext
from support.cli import CliHarness
from support.fuzz import EXIT_CODES, Outbound, outbound_messages, raw_python_text, violation
from support.stack import WEEKDAY_NOON

__all__ = ["CliCall", "CliFuzzer", "ConsoleScript"]

# Settings the user's own environment must not leak into a run (or a real GHL be reached).
_CLEARED_ENV = (
    "GHL_TOKEN", "GHL_LOCATION_ID", "GHL_BASE_URL", "GHL_SMS_LEDGER", "GHL_SMS_REGION",
    "GHL_SMS_REPEAT_WINDOW", "GHL_SMS_MCP_TOKEN", "GHL_WEBHOOK_PUBLIC_KEY", "GHL_SMS_DEBUG",
)  # fmt: skip

_CAMPAIGN_ID = re.compile(r"\bcmp_[0-9A-Za-z]+\b")


class _WithApp:
    """The click group, with the test's AppContext passed as ``obj`` however main calls it."""

    def __init__(self, command: Any, app: AppContext) -> None:
        self._command, self._app = command, app

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["obj"] = self._app
        return self._command(*args, **kwargs)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["obj"] = self._app
        return self._command.main(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._command, name)


class ConsoleScript:
    """Looks like a click command to ``CliRunner.invoke``; runs ``ghl_sms.cli.main``."""

    name = "ghl-sms"

    def __init__(self, app: AppContext) -> None:
        self.app = app

    def main(self, args: Sequence[str] = (), prog_name: str = "ghl-sms", **_: Any) -> Any:
        module: Any = importlib.import_module("ghl_sms.cli")
        real = module.cli
        saved_argv = sys.argv
        module.cli = _WithApp(real, self.app)
        sys.argv = [prog_name, *args]
        try:
            return module.main()
        finally:
            module.cli = real
            sys.argv = saved_argv


@dataclass
class CliCall:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    stdin: str | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def json_mode(args: Sequence[str]) -> bool:
    """--json was given to a command that has it (the generators never use it as a value)."""
    return "--json" in args and "--" not in args[: args.index("--json")]


def parse_json_output(stdout: str) -> list[Any] | None:
    """The JSON documents on stdout (one, or one per line for --watch); None if not JSON."""
    text = stdout.strip()
    if not text:
        return None
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    docs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            docs.append(json.loads(line))
        except ValueError:
            return None
    return docs


@dataclass
class CliFuzzer:
    """One generated example: a fresh data dir, a FakeClock, a few CLI calls in a row."""

    tmp: Path
    clock: FakeClock = field(default_factory=lambda: FakeClock(WEEKDAY_NOON))
    calls: int = 0
    texted: int = 0
    exits: dict[int, int] = field(default_factory=dict)
    message_ids: list[str] = field(default_factory=list)
    campaign_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.harness = CliHarness(self.tmp, self.clock)

    @property
    def sandbox_file(self) -> Path:
        return self.tmp / "sandbox.db"

    def run(
        self,
        args: Sequence[str],
        stdin: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        app: AppContext | None = None,
    ) -> CliCall:
        """Run the console script; the cwd is the temp dir, so no ./.env is read.

        ``environ``: settings on top of the temp data dir; ``app``: another AppContext
        (say, the default sandbox factory) instead of the harness's."""
        env: dict[str, str | None] = {name: None for name in _CLEARED_ENV}
        env.update({"GHL_SMS_DATA_DIR": str(self.tmp), "HOME": str(self.tmp)})
        env.update(environ or {})
        with contextlib.chdir(self.tmp):
            script = ConsoleScript(app or self.harness.app(**(environ or {})))
            result = CliRunner().invoke(
                script,  # type: ignore[arg-type]
                list(args),
                input=stdin,
                env=env,
                prog_name="ghl-sms",
                catch_exceptions=True,
            )
        self.calls += 1
        exception = result.exception
        if isinstance(exception, SystemExit):
            exception = None
        return CliCall(list(args), result.exit_code, result.stdout, result.stderr, exception, stdin)

    def substitute(self, args: Sequence[str]) -> list[str]:
        """$MSG and $CMP stand for the latest message and campaign ids seen so far."""
        msg = self.message_ids[-1] if self.message_ids else "noSuchMessage00000001"
        cmp = self.campaign_ids[-1] if self.campaign_ids else "cmp_000000000000"
        return [a.replace("$MSG", msg).replace("$CMP", cmp) for a in args]

    def call_and_check(self, args: Sequence[str], stdin: str | None = None) -> CliCall:
        """Run one call and check every invariant on it."""
        args = self.substitute(args)
        before = outbound_messages(self.sandbox_file)
        call = self.run(args, stdin)
        after = outbound_messages(self.sandbox_file)
        new = [m for mid, m in after.items() if mid not in before]
        self.message_ids.extend(m.id for m in new)
        self.texted += len(new)
        self.exits[call.exit_code] = self.exits.get(call.exit_code, 0) + 1
        self.campaign_ids.extend(_CAMPAIGN_ID.findall(call.output))
        check_call(call)
        self.check_sends(call, new)
        return call

    def check_sends(self, call: CliCall, new: list[Outbound]) -> None:
        args = call.args
        command = _command(args)
        sends = command in ("send", "bulk send", "bulk resume")
        if new and (not sends or "--dry-run" in args):
            violation("side_effect", "cli", args, f"{command} texted {[m.texted for m in new]}")
            return
        if not new:
            return
        if call.exit_code != 0 and command == "send":
            violation(
                "side_effect", "cli", args,
                f"exit {call.exit_code} but texted {[m.texted for m in new]}\n{call.output}",
            )  # fmt: skip
        if command == "send":
            self._check_single_send(call, new)
        else:
            self._check_bulk_send(call, new)

    def _check_single_send(self, call: CliCall, new: list[Outbound]) -> None:
        args = call.args
        if len(new) > 1:
            violation("side_effect", "cli", args, f"one send texted {len(new)} messages")
        message = new[0]
        asked = _asked_recipient(args)
        if asked is not None and message.texted != asked:
            violation(
                "recipient", "cli", args,
                f"asked for {asked}, the sandbox texted {message.texted}\n{call.output}",
            )  # fmt: skip
        if json_mode(args):
            docs = parse_json_output(call.stdout) or [{}]
            doc = docs[-1] if isinstance(docs[-1], dict) else {}
            if doc.get("to") != message.texted or doc.get("message_id") != message.id:
                violation(
                    "recipient", "cli", args,
                    f"reported to={doc.get('to')!r} id={doc.get('message_id')!r}; the sandbox "
                    f"texted {message.texted} as {message.id}",
                )  # fmt: skip
        elif message.texted and message.texted not in call.stdout:
            violation(
                "recipient", "cli", args,
                f"the sandbox texted {message.texted}; the output does not say so:\n{call.stdout}",
            )  # fmt: skip
        if _text_argument(args) == "-" and message.body == "-":
            violation("stdin", "cli", args, "`send ... -` texted a literal '-'")

    def _check_bulk_send(self, call: CliCall, new: list[Outbound]) -> None:
        args = call.args
        texted = [m.texted for m in new]
        twice = sorted({t for t in texted if t is not None and texted.count(t) > 1})
        if twice:
            violation("side_effect", "cli", args, f"one campaign texted {twice} more than once")
        campaign = next(iter(_CAMPAIGN_ID.findall(call.output)), None)
        if campaign is None:
            violation("recipient", "cli", args, f"texted {texted}; no campaign id in the output")
            return
        report = self.run(["bulk", "report", campaign, "--sandbox", "--format", "json"])
        check_call(report)
        docs = parse_json_output(report.stdout) or [[]]
        rows = docs[0] if isinstance(docs[0], list) else []
        reported = {r.get("message_id"): r.get("phone") for r in rows if isinstance(r, dict)}
        for message in new:
            if reported.get(message.id) != message.texted:
                violation(
                    "recipient", "cli", args,
                    f"campaign {campaign} reports {reported.get(message.id)!r} for "
                    f"{message.id}; the sandbox texted {message.texted}",
                )  # fmt: skip


def _command(args: Sequence[str]) -> str:
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return ""
    if words[0] == "bulk" and len(words) > 1:
        return f"bulk {words[1]}"
    return words[0]


def _option_values(args: Sequence[str], option: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == option]


def _asked_recipient(args: Sequence[str]) -> str | None:
    """The number a send with exactly one E.164 --to (or one seeded --contact) must text."""
    from ghl_sms.sandbox._seed import SEED_CONTACTS

    tos = _option_values(args, "--to")
    contacts = _option_values(args, "--contact")
    conversations = _option_values(args, "--conversation")
    if len(tos) + len(contacts) + len(conversations) != 1:
        return None
    if tos and re.fullmatch(r"\+[1-9]\d{7,14}", tos[0]):
        return tos[0]
    if contacts:
        phones = {c.id: c.phone for c in SEED_CONTACTS}
        return phones.get(contacts[0])
    return None


_VALUE_OPTIONS = frozenset({
    "--to", "--contact", "--conversation", "--media", "--from", "--at", "--key", "--file",
    "--location", "--base-url", "--ledger", "--env-file",
})  # fmt: skip


def _text_argument(args: Sequence[str]) -> str | None:
    """send's TEXT positional, as click would see it."""
    positionals: list[str] = []
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in _VALUE_OPTIONS:
            skip = True
        elif a == "-" or not a.startswith("-"):
            positionals.append(a)
    return positionals[0] if positionals else None


def check_call(call: CliCall) -> None:
    """What every CLI call keeps, whatever its arguments."""
    args = call.args
    if call.exception is not None:
        violation(
            "crash", "cli", args,
            f"{type(call.exception).__name__}: {call.exception}\n{call.output}",
        )  # fmt: skip
    if call.exit_code not in EXIT_CODES:
        violation("exit_code", "cli", args, f"exit {call.exit_code}\n{call.output}")
    if "Traceback" in call.output or "ghl-sms bug" in call.output:
        violation("traceback", "cli", args, call.output)
    leak = raw_python_text(call.stderr)
    if leak:
        violation("raw_text", "cli", args, f"{leak!r} in:\n{call.stderr}")
    if json_mode(args):
        _check_json(call)


def _check_json(call: CliCall) -> None:
    args = call.args
    docs = parse_json_output(call.stdout)
    if docs is None and call.stderr.startswith("Usage:"):
        # click's own parsing errors (unknown option, extra argument) under --json
        violation("json_usage", "cli", args, f"exit {call.exit_code}; {call.stderr}")
        return
    if docs is None:
        violation(
            "json", "cli", args,
            f"exit {call.exit_code}; stdout is not JSON:\n{call.stdout!r}\nstderr: {call.stderr}",
        )  # fmt: skip
        return
    last = docs[-1]
    error = last.get("error") if isinstance(last, dict) else None
    if error is not None:
        shape_ok = isinstance(error, dict) and {"code", "message", "hint"} <= set(error)
        if not shape_ok or call.exit_code == 0:
            violation("json_error", "cli", args, f"exit {call.exit_code}: {call.stdout}")
        elif raw_python_text(json.dumps(error, ensure_ascii=False)):
            violation("raw_text", "cli", args, f"in the JSON error: {call.stdout}")
    elif call.exit_code == 2:
        violation("json_error", "cli", args, f"exit 2 without an error object: {call.stdout}")
