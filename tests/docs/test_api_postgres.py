"""docs/api.md's PostgreSQL sample (marked not-run: it needs a database) runs here on the
test database, with its URL swapped for the test's, and records its send there."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.ops.ledger import Ledger
from support.docs import ROOT, blocks

SAMPLE_URL = "postgresql://ghl:secret@db.internal:5432/ghl_sms"


def test_the_api_pages_postgresql_sample_sends_through_the_database(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    [sample] = [b for b in blocks(ROOT / "docs" / "api.md") if SAMPLE_URL in b.body]
    assert sample.not_run is not None and "PostgreSQL" in sample.not_run
    monkeypatch.chdir(tmp_path)
    exec(compile(sample.body.replace(SAMPLE_URL, pg_url), sample.where, "exec"),
         {"__name__": "__main__"})  # fmt: skip
    assert capsys.readouterr().out.startswith("sent ")
    ledger = Ledger.open(pg_url, FakeClock(0))
    try:
        [record] = list(ledger.search("sandboxDemoLocation1"))
        assert (record.text, record.state) == ("Your order shipped", "sent")
        claimed = ledger.conn.execute(
            "SELECT count(*) FROM bulk_budget_claims WHERE key = ?", ("req:sandboxDemoLocation1",)
        ).fetchone()[0]
        assert claimed >= 1  # the location's shared budget, as the workers' pumps claim it
    finally:
        ledger.close()
    assert list(tmp_path.iterdir()) == []  # no ledger file was made
