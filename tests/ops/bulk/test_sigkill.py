"""The real thing: `ghl-sms bulk send` in a child process, killed with SIGKILL mid-run
(twice), then `bulk resume` — against a sandbox served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx2

from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN
from support.bulk import write_csv
from support.served_sandbox import served


def _messages(url: str) -> int:
    return int(httpx2.get(f"{url}/_sandbox/state", timeout=5).json()["counts"]["messages"])


def _cli(tmp: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "GHL_TOKEN": DEMO_TOKEN,
        "GHL_LOCATION_ID": DEMO_LOCATION_ID,
        "GHL_BASE_URL": url,
        "GHL_SMS_DATA_DIR": str(tmp),
        "HOME": str(tmp),
    }
    argv = [sys.executable, "-m", "ghl_sms", "bulk", *args, "--ledger", str(tmp / "ledger.db")]
    return subprocess.Popen(
        argv, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _kill_after(process: subprocess.Popen[str], url: str, messages: int) -> None:
    """SIGKILL the child once GHL holds ``messages`` messages.

    Waits on progress, not on a guess of how long it takes: a loaded machine starts the
    child and sends slowly, so this fails only when the child exits first, or when no
    new message arrives for a long time (``_STALLED``), or after ``_AT_MOST`` in all.
    """
    started = last_progress = time.monotonic()
    seen = -1
    while (count := _messages(url)) < messages:
        assert process.poll() is None, process.communicate()
        now = time.monotonic()
        if count != seen:
            seen, last_progress = count, now
        assert now - last_progress < _STALLED, f"no progress for {_STALLED:.0f} s at {count}"
        assert now - started < _AT_MOST, f"{count} of {messages} messages after {_AT_MOST} s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=_AT_MOST)


_STALLED = 60.0
"""Seconds without a new message before the child counts as stuck (startup included)."""
_AT_MOST = 240.0


def _campaigns(tmp: Path) -> list[tuple[str, str]]:
    ledger = sqlite3.connect(tmp / "ledger.db")
    try:
        return [(str(i), str(s)) for i, s in ledger.execute("SELECT id, state FROM bulk_campaigns")]
    finally:
        ledger.close()


def _list_csv(tmp: Path, contact_ids: list[str]) -> Path:
    return write_csv(tmp / "list.csv", ["contact_id"], [[c] for c in contact_ids])


def _texts_per_contact(sandbox_db: Path) -> Counter[str]:
    """How many texts the sandbox took for each contact (its own record, not the ledger's)."""
    db = sqlite3.connect(sandbox_db)
    try:
        sql = "SELECT contact_id FROM messages WHERE direction = 'outbound'"
        return Counter(str(r[0]) for r in db.execute(sql))
    finally:
        db.close()


def test_a_campaign_killed_twice_with_sigkill_and_resumed_texts_everyone_exactly_once(
    tmp_path: Path,
) -> None:
    with served(tmp_path / "sandbox.db", contacts=8) as (server, info):
        url = info["url"]
        seeds = info["seed"]
        pats = info["contacts"]
        csv_file = _list_csv(
            tmp_path, [*pats, seeds["sms_dnd"], seeds["no_phone"], seeds["invalid"]]
        )
        before = _messages(url)
        send = _cli(
            tmp_path, url, "send", "--csv", str(csv_file), "--transactional",
            "--per-minute", "60", "--json", "Hello {first_name}",
        )  # fmt: skip
        # 60 a minute: after the 2nd message, 6 more take 6 s, far more than the kill
        # takes to land, so it lands mid-run however slow the machine is.
        _kill_after(send, url, before + 2)

        [(campaign_id, state)] = _campaigns(tmp_path)
        assert state == "running"

        resume = _cli(tmp_path, url, "resume", campaign_id, "--json")
        _kill_after(resume, url, _messages(url) + 1)  # at most 4 of 8 by then: seconds to spare
        assert _campaigns(tmp_path) == [(campaign_id, "running")]  # killed mid-run again

        final = _cli(tmp_path, url, "resume", campaign_id, "--json")
        out, err = final.communicate(timeout=_AT_MOST)
        assert final.returncode == 0, err
        status = json.loads(out)
        assert status["campaign"]["state"] == "completed"
        assert status["counts"]["sent"] == 8 and status["counts"]["skipped"] == 3
        server.terminate()
        server.wait(timeout=10)

    assert _texts_per_contact(tmp_path / "sandbox.db") == Counter({p: 1 for p in pats})


_CHILD = Path(__file__).resolve().parents[2] / "support" / "bulk_child.py"


def _child(tmp: Path, url: str, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, str(_CHILD), str(tmp / "fast-ledger.db"), url, DEMO_TOKEN,
            DEMO_LOCATION_ID, *args]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _lose_answers(url: str, count: int) -> None:
    """GHL handles the next sends, then the answers are lost (a 500, a dropped socket)."""
    for kind in ("500_after", "drop"):
        body = {"kind": kind, "count": count, "path": "/conversations/messages",
                "method": "POST"}  # fmt: skip
        httpx2.post(f"{url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def test_hundreds_of_recipients_lost_answers_and_three_kills_still_text_everyone_once(
    tmp_path: Path,
) -> None:
    """Sends GHL handled whose answers were lost, some in flight at a SIGKILL: each is
    found in GHL and adopted on resume. Were adoption broken, they would go twice."""
    with served(tmp_path / "sandbox.db", contacts=300, burst=100_000, window=1) as (
        server,
        info,
    ):
        url = info["url"]
        pats = info["contacts"]
        seeds = info["seed"]
        csv_file = _list_csv(tmp_path, [*pats, seeds["sms_dnd"], seeds["no_phone"]])
        before = _messages(url)
        _lose_answers(url, 12)
        run = _child(tmp_path, url, "send", str(csv_file), "Hello {first_name}")
        assert run.stdout is not None
        campaign_id = run.stdout.readline().strip()
        assert campaign_id.startswith("cmp_"), run.communicate()
        for kill in (60, 140, 220):
            _kill_after(run, url, before + kill)
            _lose_answers(url, 6)
            run = _child(tmp_path, url, "resume", campaign_id)

        out, err = run.communicate(timeout=_AT_MOST)
        assert run.returncode == 0, err
        status = json.loads(out.splitlines()[-1])
        assert status["campaign"]["state"] == "completed"
        assert status["counts"]["sent"] == 300 and status["counts"]["skipped"] == 2
        server.terminate()
        server.wait(timeout=10)

    assert _texts_per_contact(tmp_path / "sandbox.db") == Counter({p: 1 for p in pats})
