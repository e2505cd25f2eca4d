"""The console's browser tests: the console process, screenshots and the axe-core check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ghl_sms.cli import cli
from ghl_sms.cli._app import AppContext

AXE = Path(__file__).parents[1] / "console" / "node" / "node_modules" / "axe-core" / "axe.min.js"
DOCS_IMAGES = Path(__file__).parents[2] / "docs" / "images"
REQUIRED = os.environ.get("GHL_SMS_REQUIRE_BROWSER", "") not in ("", "0")


def need(condition: bool, reason: str) -> None:
    """Skip without it on a user's machine; fail in CI, where it must be there."""
    if condition:
        return
    if REQUIRED:
        pytest.fail(f"{reason} (GHL_SMS_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@dataclass
class Console:
    url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[str]
    spawned: int = 0

    def cli(self, *args: str) -> Result:
        """A `ghl-sms` command in this process, pointed at the console's sandbox."""
        return CliRunner().invoke(
            cli, list(args), obj=AppContext(environ=self.env), catch_exceptions=False
        )

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """A `ghl-sms` command as its own process (one that keeps running)."""
        self.spawned += 1
        log = self.data_dir / f"spawned-{self.spawned}.log"  # read it when a test fails
        with log.open("w") as out:  # the child keeps its own copy of the handle
            return subprocess.Popen(
                [sys.executable, "-c", "from ghl_sms.cli import main; main()", *args],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )


def screenshot(driver: Any, tmp_path: Path, name: str, *, docs: bool = False) -> Path:
    """A test artifact under tmp_path; with GHL_SMS_SCREENSHOTS=docs also the README's."""
    path = tmp_path / f"console-{name}.png"
    driver.save_screenshot(str(path))
    if docs and os.environ.get("GHL_SMS_SCREENSHOTS") == "docs":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / path.name)
    return path


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    need(AXE.is_file(), f"axe-core is not installed: npm ci --prefix {AXE.parents[2]}")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then((r) => done(r.violations)).catch((e) => done([{id: 'axe-error', "
        "impact: 'critical', help: String(e), nodes: []}]));"
    )
    return [v for v in result if v.get("impact") in ("serious", "critical")]
