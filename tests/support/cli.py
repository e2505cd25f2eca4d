"""Run the CLI in-process against a sandbox file in a temporary directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from ghl_sms._clock import Clock, FakeClock
from ghl_sms._settings import Settings
from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext
from ghl_sms.sandbox import Sandbox
from support.stack import WEEKDAY_NOON


@dataclass
class CliHarness:
    tmp: Path
    clock: FakeClock

    def __post_init__(self) -> None:
        self.sandboxes: list[Sandbox] = []

    def app(self, **environ: str) -> AppContext:
        env = {"GHL_SMS_DATA_DIR": str(self.tmp), "HOME": str(self.tmp), **environ}

        def sandbox(settings: Settings, clock: Clock) -> Sandbox:
            sb = Sandbox(db_path=settings.sandbox_file, clock=self.clock)
            self.sandboxes.append(sb)
            return sb

        return AppContext(environ=env, clock=self.clock, sandbox_factory=sandbox)

    def sandbox(self) -> Sandbox:
        """The sandbox file the CLI runs use, opened for the test itself (close it)."""
        return Sandbox(db_path=self.tmp / "sandbox.db", clock=self.clock)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), obj=self.app(**(env or {})), catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        return json.loads(result.stdout)


def harness(tmp_path: Path) -> CliHarness:
    return CliHarness(tmp_path, FakeClock(WEEKDAY_NOON))
