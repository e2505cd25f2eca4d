"""Campaigns on PostgreSQL sent by three `ghl-sms worker` processes over loopback, with a
worker killed while the sandbox holds one of its sends, another frozen past the stall
timeout and resumed, faults on sends, and interactive sends on one location meanwhile.

6 locations, each with a campaign of 204 contacts (2 DND, 2 opted out; location 0 keeps
3 back for the interactive sends) plus 2 invalid numbers. 10 contacts a location are
outside the campaign's send window when it starts, in a zone where it opens a minute or
so later, so their rows wait as deferred (``not_before``) rows for whichever worker pumps
the location then.

The sandbox's strict limiter allows 100 requests per 5 s per location (GHL's 100 per
10 s, twice as fast, to keep three seeds within a few minutes on two cores; the workers
are told so with ``--rate-limit``), which paces every location but one: that one's
campaign caps its sending number at 180 messages a minute, below what the request limit
alone would let through (3 requests a message), so the per-number check is not idle.
A stall timeout of 6 s, slices of 10 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from support import scale as scenario
from support.processes import wait_for

HERE = Path(__file__).resolve().parent
GHL_SMS = [str(Path(sys.executable).parent / "ghl-sms")]
STALL = 6.0
BURST, WINDOW = 100, 5.0
NUMBER_PER_MINUTE = 180
CONTACTS, LATE = 204, 10
DEADLINE = 240.0
SENDS = {"path": "/conversations/messages", "method": "POST"}


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=10).read()


class Cluster:
    def __init__(self, tmp: Path, pg_url: str, info: dict[str, Any]) -> None:
        self.tmp = tmp
        config = tmp / "config.toml"
        profiles = [f'[locations.l{i}]\nlocation_id = "{loc}"\ntoken = "{token}"\n'
                    for i, (loc, token) in enumerate(info["locations"].items())]  # fmt: skip
        config.write_text('default = "l0"\n' + "\n".join(profiles))
        config.chmod(0o600)
        self.env = {
            **os.environ,
            "GHL_BASE_URL": info["url"],
            "GHL_SMS_CONFIG": str(config),
            "GHL_SMS_DATABASE_URL": pg_url,
            "GHL_SMS_DATA_DIR": str(tmp / "data"),
        }
        for name in ("GHL_TOKEN", "GHL_LOCATION_ID", "GHL_SMS_LEDGER"):
            self.env.pop(name, None)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*GHL_SMS, *args], env=self.env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker{len(self.workers)}.log", "wb")
        self.logs.append(log)
        worker = subprocess.Popen(
            [*GHL_SMS, "worker", "--concurrency", "10", "--stall-timeout", str(STALL),
             "--slice", "10", "--rate-limit", f"{BURST}/{WINDOW:g}"],
            env=self.env, stdout=log, stderr=log,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGCONT)
                worker.kill()
            worker.wait(10)
        for log in self.logs:
            log.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    db = tmp_path / "sandbox.db"
    opens = scenario.window_opening(time.time() + 15)
    process = subprocess.Popen(
        [sys.executable, str(HERE / "scale_sandbox.py"), str(db), "--locations", "6",
         "--contacts", str(CONTACTS), "--dnd", "2", "--burst", str(BURST),
         "--window", str(WINDOW), "--zone", opens.zone, "--late", f"{opens.late_zone}:{LATE}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the sandbox did not start"
    try:
        yield db, {**json.loads(line), "opens": opens}
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _holders(pg_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT name, pid FROM bulk_leases WHERE expires_at > extract(epoch FROM now())"
        ).fetchall()
    return {str(name): int(pid) for name, pid in rows}


def _pump_runs(pg_url: str) -> dict[str, list[tuple[int, int]]]:
    """Each pump job's run (started -> finished) per location lock, as procrastinate's
    event ids. An event's id is drawn as the event is written, so a job that waited for
    its lock has a "started" id above the "finished" id of the job it waited for. Its
    time (``at``, ``now()``) is its transaction's start, which can come first: the fetch
    began before the other job finished and saw it finished by the time it looked."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT j.lock, e.job_id, e.type::text, e.id "
            "FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
            "WHERE j.task_name = 'ghl_sms.pump' ORDER BY e.id"
        ).fetchall()
    starts: dict[int, tuple[str, int]] = {}
    runs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for lock, job_id, kind, event_id in rows:
        if kind == "started":
            starts[job_id] = (lock, event_id)
        elif kind in ("succeeded", "failed", "aborted") and job_id in starts:
            lock_, began = starts.pop(job_id)
            runs[lock_].append((began, event_id))
    return runs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_workers_send_each_eligible_recipient_once(
    seed: int, pg_url: str, tmp_path: Path, served: tuple[Path, dict[str, Any]]
) -> None:
    from ghl_sms.ops.jobs import apply_job_schema

    anyio.run(apply_job_schema, pg_url)
    _, info = served
    first = next(iter(info["phones"]))
    interactive = info["phones"][first][-3:]
    info["phones"][first] = info["phones"][first][:-3]
    plan = scenario.build(info, tmp_path)
    cluster = Cluster(tmp_path, pg_url, info)
    names = {loc: f"l{i}" for i, loc in enumerate(info["locations"])}
    for location_id, phones in plan.opted_out.items():
        for phone in phones:
            done = cluster.run("optouts", "add", phone, "--location", names[location_id])
            assert done.returncode == 0, done.stderr
    url = info["url"]
    for kind, count in (("500", 2), ("500_after", 1), ("drop", 1)):
        _post(f"{url}/_sandbox/faults", {"kind": kind, "count": count, **SENDS})
    try:
        for _ in range(3):
            cluster.start_worker()
        started = time.monotonic()
        opens: scenario.Opening = info["opens"]
        capped = list(plan.csvs)[1]  # not location 0, where a person texts meanwhile
        for location_id, csv in plan.csvs.items():
            text = f"Hi {{first_name}}, seed {seed}"
            cap = ["--number-per-minute", str(NUMBER_PER_MINUTE)] if location_id == capped else []
            sent = cluster.run("bulk", "send", "--location", names[location_id], "--csv",
                               str(csv), "--transactional", "--send-window", opens.window,
                               *cap, text)  # fmt: skip
            assert sent.returncode == 0, sent.stderr
            assert "Queued" in sent.stderr

        # A send the sandbox stores and then holds: kill the worker that made it.
        time.sleep(0.2 * seed)
        _post(f"{url}/_sandbox/faults", {"kind": "hang", "count": 1, **SENDS})

        def held() -> str | None:
            for entry in scenario.arrivals(url):
                if (entry["method"] == "POST" and not entry["done"]
                        and time.time() - entry["at"] > 0.5):  # fmt: skip
                    return str(entry["location"])
            return None

        location = wait_for(held, "a held send", 30, every=0.3)
        pid = _holders(pg_url)[location]
        victim = next(w for w in cluster.workers if w.pid == pid)
        victim.kill()
        killed_at = time.monotonic()
        cluster.start_worker()

        # Freeze another worker that pumps something, past the stall timeout.
        holders = _holders(pg_url)
        frozen = next((w for w in cluster.workers[:3]
                       if w.poll() is None and w.pid in holders.values()), None)  # fmt: skip
        if frozen is not None:
            frozen.send_signal(signal.SIGSTOP)
        for phone in interactive:  # a person texting on location 0 meanwhile
            done = cluster.run("send", "--location", "l0", "--to", phone, "--transactional",
                               "Interactive hello")  # fmt: skip
            assert done.returncode == 0, done.stderr + done.stdout
        if frozen is not None:
            time.sleep(max(0.0, STALL + 4 - (time.monotonic() - killed_at)))
            frozen.send_signal(signal.SIGCONT)

        # The killed worker's location is pumped again within 45 s.
        def taken_over() -> bool:
            now_holder = _holders(pg_url).get(location)
            return now_holder is not None and now_holder != pid

        def finished() -> bool:
            import psycopg

            with psycopg.connect(pg_url) as conn:
                states = [r[0] for r in conn.execute("SELECT state FROM bulk_campaigns")]
            return len(states) == len(plan.csvs) and set(states) == {"completed"}

        wait_for(lambda: taken_over() or finished(), f"{location} taken over", 45, every=0.3)
        assert time.monotonic() - killed_at < 45
        wait_for(
            finished, "every campaign completed", DEADLINE - (time.monotonic() - started), every=0.3
        )
        status = json.loads(cluster.run("bulk", "status", "--json").stdout)
    finally:
        cluster.stop()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        for row in conn.execute(
            "SELECT c.location_id, r.phone, r.state, r.reason_code FROM bulk_recipients r JOIN "
            "bulk_campaigns c ON c.id = r.campaign_id WHERE r.state <> 'sent' ORDER BY 1, 2"
        ):
            print(row)
    capped_number = {info["numbers"][capped]: NUMBER_PER_MINUTE}
    figures = scenario.check(plan, burst=BURST, window=WINDOW, per_minute=capped_number,
                             extra={first: set(interactive)}, late_after=opens.at)  # fmt: skip
    cluster_status = status["cluster"]
    assert cluster_status["recipients"] == {"due": 0, "deferred": 0, "sending": 0}
    if frozen is not None:
        assert cluster_status["stalled_pumps_recovered"] >= 1
    for lock, runs in _pump_runs(pg_url).items():
        ordered = sorted(runs)
        for (_, end), (begin, _) in zip(ordered, ordered[1:], strict=False):
            assert begin > end, f"{lock}: pump runs overlap"
    print(figures)
