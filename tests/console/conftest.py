"""A real `ghl-sms console --sandbox` on a loopback socket, and Debian's Chromium driving it.

The console runs as its own process over the embedded sandbox in a temporary data
directory; CLI commands reach the same sandbox through the URL it prints, as a user's
second terminal would. The browser is Chromium through chromedriver, headless, with a
fresh profile and no network beyond loopback. Without Chromium the tests skip, unless
GHL_SMS_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.console import Console, need

CHROMIUM = Path(os.environ.get("GHL_SMS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("GHL_SMS_CHROMEDRIVER", "/usr/bin/chromedriver"))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data_dir = tmp_path_factory.mktemp("console-data")
    env = {"GHL_SMS_DATA_DIR": str(data_dir), "HOME": str(data_dir), "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from ghl_sms.cli import main; main()",
         "console", "--sandbox", "--port", "0"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("GHL_")}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            break
    output = "".join(lines)
    found = re.search(r"ghl-sms console: (http://127\.0\.0\.1:\d+)/", output)
    exports = re.search(r"export (.+)", output)
    assert found and exports, output
    for pair in exports.group(1).split():
        key, _, value = pair.partition("=")
        env[key] = value
    yield Console(found.group(1), env, data_dir, process)
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(CHROMIUM.exists() and CHROMEDRIVER.exists(),
         f"no Chromium at {CHROMIUM} with {CHROMEDRIVER} (apt-get install chromium "
         "chromium-driver)")  # fmt: skip
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need(False, "selenium is not installed (pip install -e '.[test]')")
        raise
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="ghl-sms-chromium-")
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
