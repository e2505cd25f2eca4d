"""The scale-out test's assertions, from the same helper (tests/support/scale.py), on the
embedded SQLite mode: each location's campaign is sent by a `bulk send` process of its
own over the served scale sandbox, all of them SIGKILLed mid-campaign and resumed three
times, sharing one SQLite ledger. This shows the pump is the one the workers run.

Scaled for a 2-core machine: 2 locations x 40 recipients (2 DND, 2 opted out, 2 invalid
numbers each, and 4 outside the send window until it opens a minute or so into the run),
20 requests per 2 s per location at the sandbox and in the engine, and the second
location's number capped at 60 messages a minute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghl_sms._clock import SystemClock
from ghl_sms.ops.ledger import Ledger
from support import scale as scenario

HERE = Path(__file__).resolve().parent
BURST, WINDOW = 20, 2.0
KILLS = 3
LATE = 4
NUMBER_PER_MINUTE = 60


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    opens = scenario.window_opening(time.time() + 15)
    process = subprocess.Popen(
        [sys.executable, str(HERE / "scale_sandbox.py"), str(tmp_path / "sandbox.db"),
         "--locations", "2", "--contacts", "40", "--dnd", "2", "--burst", str(BURST),
         "--window", str(WINDOW), "--zone", opens.zone, "--late", f"{opens.late_zone}:{LATE}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the sandbox did not start"
    try:
        yield {**json.loads(line), "opens": opens}
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _child(ledger: Path, info: dict[str, Any], location_id: str, *args: str) -> Any:
    token = info["locations"][location_id]
    command = [sys.executable, str(HERE / "embedded_child.py"), str(BURST), str(WINDOW),
               str(ledger), info["url"], token, location_id, *args]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _sends(url: str) -> int:
    return sum(1 for e in scenario.arrivals(url) if e["method"] == "POST" and e["status"] == 200)


def test_killed_and_resumed_three_times_each_eligible_recipient_once(
    tmp_path: Path, served: dict[str, Any]
) -> None:
    info = served
    plan = scenario.build(info, tmp_path)
    ledger_path = tmp_path / "ledger.db"
    ledger = Ledger.open(ledger_path, SystemClock())
    for location_id, phones in plan.opted_out.items():
        for phone in phones:
            ledger.record_opt_out(location_id, phone=phone, source="test")
    ledger.close()
    eligible = sum(len(p) for p in plan.eligible.values())

    opens: scenario.Opening = info["opens"]
    capped = list(plan.csvs)[1]

    def send(location_id: str, csv: Path) -> Any:
        cap = [str(NUMBER_PER_MINUTE)] if location_id == capped else []
        return _child(ledger_path, info, location_id, "send", str(csv), "Hi {first_name}",
                      opens.window, *cap)  # fmt: skip

    children = {loc: send(loc, csv) for loc, csv in plan.csvs.items()}
    ids = {}
    for location_id, child in children.items():
        assert child.stdout is not None
        ids[location_id] = child.stdout.readline().strip()
        assert ids[location_id].startswith("cmp_"), child.stderr
    for round_ in range(KILLS):
        # Let some sends land (more each round), then kill every process mid-campaign.
        target = eligible * (round_ + 1) // (KILLS + 1)
        end = time.monotonic() + 30
        while _sends(info["url"]) < target and time.monotonic() < end:
            time.sleep(0.1)
        for child in children.values():
            child.kill()
            child.communicate(timeout=10)
        assert _sends(info["url"]) < eligible, "the campaigns finished before the kill"
        children = {loc: _child(ledger_path, info, loc, "resume", ids[loc]) for loc in ids}
    for child in children.values():
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        status = json.loads(out.splitlines()[-1])
        assert status["campaign"]["state"] == "completed", status

    capped_number = {info["numbers"][capped]: NUMBER_PER_MINUTE}
    figures = scenario.check(plan, burst=BURST, window=WINDOW, per_minute=capped_number,
                             late_after=opens.at)  # fmt: skip
    assert figures["messages"] == eligible
