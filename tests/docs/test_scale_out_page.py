"""docs/scale-out.md's PostgreSQL samples (marked not-run: they need a server, and one
serves until stopped) run here in order, as a user would type them: ``db upgrade`` on an
empty database, a ``ghl-sms worker`` process with its ``/metrics``, then ``bulk send`` and
``bulk status --json`` until the worker has sent the campaign, through a sandbox served
on loopback.

Swapped in: the test database for the page's URL, a free port for 9464, and the sandbox's
reachable contact, texted as a transactional notice, for the page's example audience
(``--tag vip``, a marketing text), so that the hour of the run does not matter.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.docs import ROOT, Block, blocks, shell_lines
from support.processes import free_port, wait_for
from support.served_sandbox import served

GHL_SMS = str(Path(sys.executable).parent / "ghl-sms")
PAGE = ROOT / "docs" / "scale-out.md"
SAMPLE_PORT = "9464"


def _metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def page_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """The environment of a machine with credentials for the served sandbox's location."""
    with served(tmp_path / "sandbox.db") as (_, info):
        location_id, token = next(iter(info["locations"].items()))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "GHL_SMS_"))}
        env |= {
            "GHL_BASE_URL": info["url"],
            "GHL_TOKEN": token,
            "GHL_LOCATION_ID": location_id,
            "GHL_SMS_DATA_DIR": str(tmp_path / "data"),
            "GHL_SMS_CONFIG": str(tmp_path / "no-config.toml"),
        }
        yield env, location_id


def _database_samples() -> list[Block]:
    found = [b for b in blocks(PAGE) if b.not_run and "PostgreSQL server" in b.not_run]
    assert len(found) == 3, [b.where for b in found]  # upgrade, worker, send and status
    return found


def test_the_pages_postgresql_steps_send_a_campaign_through_a_worker(
    page_env: tuple[dict[str, str], str], pg_empty_url: str, tmp_path: Path
) -> None:
    env, location_id = page_env
    upgrade, start_worker, send = _database_samples()

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        assert argv[0] == "ghl-sms"
        return subprocess.run([GHL_SMS, *argv[1:]], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    # 2. Point at the database and create the schema.
    for line in shell_lines(upgrade):
        if line.argv[0] == "export":
            name, value = line.argv[1].split("=", 1)
            assert (name, value.startswith("postgresql://")) == ("GHL_SMS_DATABASE_URL", True)
            env[name] = pg_empty_url
        else:
            done = run(line.argv)
            assert done.returncode == line.exit_code, done.stderr
    status = json.loads(run(["ghl-sms", "db", "status", "--json"]).stdout)
    assert (status["backend"], status["current"]) == ("postgres", True)

    # 3. A worker, serving /metrics.
    [worker_line] = shell_lines(start_worker)
    assert SAMPLE_PORT in worker_line.argv
    argv = [str(free_port()) if word == SAMPLE_PORT else word for word in worker_line.argv]
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([GHL_SMS, *argv[1:]], env=env, cwd=tmp_path, stderr=out,
                                  stdout=subprocess.DEVNULL)  # fmt: skip
    try:

        def ready() -> dict[str, Any] | None:
            assert worker.poll() is None, log.read_text()
            for text in log.read_text().splitlines():
                if text.startswith("{") and '"ready"' in text:
                    return dict(json.loads(text))
            return None

        metrics_url = wait_for(ready, "the worker's ready line", 30, every=0.2)["metrics"]
        before = _metrics(metrics_url)
        assert before[("ghl_sms_process", (("counter", "active_pumps"),))] == 0

        # 4. Send (it only enqueues), then follow the campaign until the worker sent it.
        (tmp_path / "promo.txt").write_text("Your order shipped. Reply STOP to opt out.\n")
        queue, follow = shell_lines(send)
        audience = shlex.join(queue.argv).replace("--tag vip", "--tag reachable --transactional")
        sent = run(shlex.split(audience))
        assert sent.returncode == 0, sent.stderr
        assert "Queued cmp_" in sent.stderr, sent.stderr
        campaign_id = sent.stderr.split("Queued ", 1)[1].split(":", 1)[0]
        assert "CAMPAIGN_ID" in follow.argv
        follow_argv = [campaign_id if w == "CAMPAIGN_ID" else w for w in follow.argv]

        def completed() -> dict[str, Any] | None:
            shown = run(follow_argv)
            assert shown.returncode == 0, shown.stderr
            found = dict(json.loads(shown.stdout))
            return found if found["campaign"]["state"] == "completed" else None

        final = wait_for(completed, f"{campaign_id} to complete", 60, every=0.2)
        assert final["counts"].get("sent") == 1, final["counts"]
        after = _metrics(metrics_url)
        assert after[("ghl_sms_requests", (("location", location_id), ("window", "60s")))] >= 1
        assert after[("ghl_sms_process", (("counter", "pump_slices"),))] >= 1

        # SIGTERM stops an idle worker cleanly.
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
