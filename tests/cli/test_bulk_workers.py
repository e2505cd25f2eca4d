"""`ghl-sms bulk` on PostgreSQL: `bulk send` only queues, and `bulk status` says what the
`ghl-sms worker` processes are doing with the campaign (not "no process is sending")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from ghl_sms.cli._bulk_render import Workers, render_status
from ghl_sms.ops.bulk import Campaign, CampaignState, CampaignStatus
from support.cli import CliHarness, harness

AVA = "sbxCtReachable000001"
HUGO = "sbxCtFlorida00000001"


@pytest.fixture
def h(tmp_path: Path) -> CliHarness:
    return harness(tmp_path)


def test_a_queued_campaign_says_no_worker_runs_and_how_to_start_one(
    h: CliHarness, pg_empty_url: str
) -> None:
    assert h.json("db", "upgrade", "--database-url", pg_empty_url)["current"]
    db = ("--sandbox", "--database-url", pg_empty_url)  # --sandbox alone keeps a file
    sent = h.run("bulk", "send", *db, "--contacts", f"{AVA},{HUGO}", "Hello")
    assert sent.exit_code == 0, sent.output
    assert "Queued cmp_" in sent.stderr
    assert "Campaign cmp_" in sent.stderr and "2 recipients." in sent.stderr
    assert "bulk resume" not in sent.stderr and "If this stops" not in sent.stderr
    assert "no process is sending" not in sent.stdout
    assert "queued for the workers, but no worker is running" in sent.stdout
    assert "Start a worker" in sent.stdout and "): ghl-sms worker" in sent.stdout
    campaign_id = sent.stderr.split("Queued ", 1)[1].split(":", 1)[0]
    shown = h.run("bulk", "status", *db, campaign_id)
    assert shown.exit_code == 0, shown.output
    assert "queued for the workers, but no worker is running" in shown.stdout
    assert "Start a worker" in shown.stdout and "bulk resume" not in shown.stdout


def test_a_send_fanned_out_to_sub_accounts_on_postgresql_offers_no_resume(
    h: CliHarness, pg_empty_url: str
) -> None:
    assert h.run("login", "--sandbox").exit_code == 0
    assert h.json("db", "upgrade", "--database-url", pg_empty_url)["current"]
    db = ("--sandbox", "--database-url", pg_empty_url)
    sent = h.run("bulk", "send", *db, "--location", "sandboxDemoLocation2,sandboxDemoLocation3",
                 "--tag", "sandbox", "--transactional", "Hello")  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert sent.stderr.count("Campaign cmp_") == 2 and "Queued cmp_" in sent.stderr
    assert "bulk resume" not in sent.stderr and "If this stops" not in sent.stderr
    assert sent.stdout.count("queued for the workers, but no worker is running") == 2


def _status(*, active: bool, next_due_at: datetime | None = None) -> CampaignStatus:
    now = datetime(2026, 3, 4, 12, tzinfo=UTC)
    campaign = Campaign.model_construct(
        id="cmp_1", name="promo", location_id="loc1", state=CampaignState.RUNNING, total=2,
        state_reason=None, waiting_reason=None, waiting_until=None, created_at=now,
    )  # fmt: skip
    return CampaignStatus.model_construct(
        campaign=campaign, counts={"pending": 2}, interrupted=0, reasons=[],
        rate_per_minute=0.0, eta_seconds=None, next_due_at=next_due_at, active=active,
        worker="w1:42" if active else None,
    )  # fmt: skip


def _shown(status: CampaignStatus, workers: Workers | None) -> str:
    out = Console(record=True, width=200, highlight=False)
    render_status(out, status, workers)
    return out.export_text()


def test_the_line_names_the_workers_and_their_pumps() -> None:
    sending = _shown(_status(active=True), Workers(alive=2, pumps=3))
    assert "a worker is sending it (w1:42; 2 workers running 3 pumps)" in sending
    waiting = _shown(_status(active=False), Workers(alive=1, pumps=0))
    assert "queued for the workers (1 worker running 0 pumps); none has picked it up yet" in (
        waiting
    )
    assert "bulk resume" not in waiting and "Start a worker" not in waiting
    later = datetime(2026, 3, 4, 13, tzinfo=UTC)
    assert "; due " in _shown(_status(active=False, next_due_at=later), Workers(1, 1))
    embedded = _shown(_status(active=False), None)
    assert "no process is sending" in embedded and "ghl-sms bulk resume cmp_1" in embedded


def test_workers_count_only_recent_heartbeats_and_held_pumps() -> None:
    cluster = {
        "workers": [{"name": "1", "heartbeat_age_s": 2.0}, {"name": "2", "heartbeat_age_s": 900.0}],
        "locations": {
            "a": {"pump": {"holder": "w1:42", "epoch": 3, "expires_at": 1.0}},
            "b": {"pump": {"holder": None, "epoch": 2, "expires_at": None}},
            "c": {"pump": None},
        },
    }
    assert Workers.of(cluster) == Workers(alive=1, pumps=1)
