"""``BulkEngine.sqlite`` on a PostgreSQL ledger gets the database's job queue, for a
library user as for the faces: a started campaign queues its location's pump for
``ghl-sms worker`` (sent by no one in process), and a database without the queue's
schema is refused before any campaign exists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RequestPacer
from ghl_sms.ops.bulk import BulkEngine, CampaignSpec, CampaignState, CsvSource
from ghl_sms.ops.errors import UsageError
from ghl_sms.ops.ledger import Ledger
from support.stack import WEEKDAY_NOON

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _no_ghl(location_id: str, pacer: RequestPacer) -> AsyncIterator[GhlClient]:
    raise AssertionError("a queued campaign is not sent in this process")
    yield  # pragma: no cover


def _csv(tmp_path: Path) -> CsvSource:
    path = tmp_path / "list.csv"
    path.write_text("phone,first_name\n+14155552001,Ava\n+14155552002,Bob\n")
    return CsvSource(path)


async def test_a_started_campaign_queues_one_pump_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    from ghl_sms.ops.jobs import apply_job_schema

    await apply_job_schema(pg_url)
    ledger = Ledger.open(pg_url, FakeClock(WEEKDAY_NOON))
    try:
        engine = BulkEngine.sqlite(ledger, connect=_no_ghl, clock=FakeClock(WEEKDAY_NOON))
        assert engine.jobs is not None
        campaign = await engine.create(
            CampaignSpec(location_id="loc1", template="Hi {first_name}"), _csv(tmp_path)
        )
        assert engine.start(campaign.id).state == CampaignState.RUNNING
        jobs = ledger.conn.execute(
            "SELECT task_name, status, args FROM procrastinate_jobs"
        ).fetchall()
    finally:
        ledger.close()
    assert len(jobs) == 1, jobs
    assert jobs[0][1] == "todo" and jobs[0][2] == {"location_id": "loc1"}


async def test_a_database_without_the_job_queue_is_refused_before_a_campaign(
    pg_url: str,
) -> None:
    from ghl_sms.ops.jobs import JobQueueUnavailable

    ledger = Ledger.open(pg_url, FakeClock(WEEKDAY_NOON))  # our tables, not procrastinate's
    try:
        with pytest.raises(JobQueueUnavailable) as refused:
            BulkEngine.sqlite(ledger, connect=_no_ghl, clock=FakeClock(WEEKDAY_NOON))
        count = ledger.conn.execute("SELECT count(*) FROM bulk_campaigns").fetchone()
    finally:
        ledger.close()
    assert isinstance(refused.value, UsageError) and refused.value.missing == "schema"
    assert "no job queue" in str(refused.value) and "ghl-sms db upgrade" in str(refused.value)
    assert count == (0,)


def test_an_sqlite_ledger_has_no_job_queue(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "ledger.db", FakeClock(WEEKDAY_NOON))
    try:
        engine = BulkEngine.sqlite(ledger, connect=_no_ghl, clock=FakeClock(WEEKDAY_NOON))
        assert engine.jobs is None  # campaigns are sent in process (engine.run)
    finally:
        ledger.close()
