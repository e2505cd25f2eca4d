"""What the cluster is doing, read from PostgreSQL: for ``bulk status --json`` and the
worker's ``/metrics`` (the same numbers, as Prometheus text).

- queue depth: open recipients of running campaigns, due now versus deferred (quiet
  hours, backoff, a daily cap) and in flight; procrastinate's jobs by status;
- per location: GHL requests claimed in the last 10 s and 60 s (the budget's claims,
  on the database's clock), today's use against the daily caps, 429s seen, and who
  pumps it (the lease: holder, epoch);
- stalled pumps recovered: pump jobs failed by the ``stalled`` task (a pump job never
  fails otherwise), and the workers' heartbeats.

Plain SQL over the ledger's connection; no procrastinate import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghl_sms.ops.storage.sql import Connection

__all__ = ["SEEN_429_PREFIX", "count_429", "prometheus_text", "scale_status"]

SEEN_429_PREFIX = "seen429:"
"""Budget-day rows counting the 429s GHL answered a location (``used`` is the count)."""

_NOW = "extract(epoch FROM clock_timestamp())::float8"


def count_429(db: Connection, location_id: str, count: int) -> None:
    """Add 429s seen for a location (kept per day like a budget key)."""
    db.execute(
        "INSERT INTO bulk_budget_days (key, day_start, used) VALUES (?, "
        f"floor({_NOW} / 86400) * 86400, ?) ON CONFLICT (key) DO UPDATE SET "
        "used = bulk_budget_days.used + excluded.used",
        (SEEN_429_PREFIX + location_id, count),
    )


def _has_jobs(db: Connection) -> bool:
    return bool(db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0])


def _location(found: dict[str, dict[str, Any]], location_id: str) -> dict[str, Any]:
    return found.setdefault(
        location_id,
        {
            "due": 0,
            "deferred": 0,
            "sending": 0,
            "requests_10s": 0,
            "requests_60s": 0,
            "rate_10s": 0.0,
            "rate_60s": 0.0,
            "daily": {},
            "seen_429": 0,
            "pump": None,
        },
    )


def scale_status(db: Connection, *, daily_request_cap: int | None = None) -> dict[str, Any]:
    """The cluster's queue depth, per-location rates and caps, and recoveries."""
    now = float(db.execute(f"SELECT {_NOW}").fetchone()[0])
    locations: dict[str, dict[str, Any]] = {}
    totals = {"due": 0, "deferred": 0, "sending": 0}
    rows = db.execute(
        "SELECT c.location_id, r.state, r.not_before <= ?, count(*) FROM bulk_recipients r "
        "JOIN bulk_campaigns c ON c.id = r.campaign_id WHERE c.state = 'running' "
        "AND r.state IN ('pending', 'deferred', 'sending') GROUP BY 1, 2, 3",
        (now,),
    )
    for location_id, state, due, n in rows:
        kind = "sending" if state == "sending" else ("due" if due else "deferred")
        _location(locations, location_id)[kind] += int(n)
        totals[kind] += int(n)
    claims = db.execute(
        "SELECT key, count(*) FILTER (WHERE at > ? - 10 AND at <= ?), count(*) "
        "FROM bulk_budget_claims WHERE starts_with(key, 'req:') AND at > ? - 60 AND at <= ? "
        "GROUP BY key",
        (now, now, now, now),
    )
    for key, last10, last60 in claims:
        entry = _location(locations, key.removeprefix("req:"))
        entry.update(
            requests_10s=int(last10),
            requests_60s=int(last60),
            rate_10s=round(int(last10) / 10, 2),
            rate_60s=round(int(last60) / 60, 2),
        )
    days = db.execute(
        "SELECT key, used, blocked_until FROM bulk_budget_days WHERE day_start > ? - 86400",
        (now,),
    )
    for key, used, blocked in days:
        if key.startswith(SEEN_429_PREFIX):
            _location(locations, key.removeprefix(SEEN_429_PREFIX))["seen_429"] = int(used)
            continue
        kind, _, rest = key.partition(":")
        location_id = rest.split(":", 1)[0]
        if kind not in ("req", "msg") or not location_id:
            continue
        cap = daily_request_cap if kind == "req" else None
        _location(locations, location_id)["daily"][key] = {
            "used": int(used),
            "cap": cap,
            "blocked_until": blocked,
        }
    for name, _owner, host, pid, expires_at, epoch in db.execute(
        "SELECT name, owner, host, pid, expires_at, epoch FROM bulk_leases"
    ):
        if name in locations:
            live = expires_at > now
            locations[name]["pump"] = {
                "epoch": int(epoch),
                "holder": f"{host}:{pid}" if live else None,
                "expires_at": expires_at if live else None,
            }
    jobs: dict[str, int] = {"todo": 0, "doing": 0, "failed": 0, "succeeded": 0}
    by_queue: dict[str, dict[str, int]] = {}
    stalled = 0
    workers: list[dict[str, Any]] = []
    if _has_jobs(db):
        for queue, status, n in db.execute(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2"
        ):
            jobs[status] = jobs.get(status, 0) + int(n)
            by_queue.setdefault(queue, {})[status] = int(n)
        stalled = int(
            db.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'ghl_sms.pump' "
                "AND status = 'failed'"
            ).fetchone()[0]
        )
        for name, age in db.execute(
            f"SELECT id, {_NOW} - extract(epoch FROM last_heartbeat)::float8 "
            "FROM procrastinate_workers ORDER BY id"
        ):
            workers.append({"name": str(name), "heartbeat_age_s": round(float(age), 1)})
    return {
        "backend": "postgres",
        "now": now,
        "recipients": totals,
        "jobs": jobs | {"by_queue": by_queue},
        "stalled_pumps_recovered": stalled,
        "seen_429": sum(entry["seen_429"] for entry in locations.values()),
        "locations": dict(sorted(locations.items())),
        "workers": workers,
    }


def prometheus_text(status: Mapping[str, Any], process: Mapping[str, float]) -> bytes:
    """``scale_status`` (and this worker's own counters) as Prometheus exposition text."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    families: list[GaugeMetricFamily] = []

    def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        family = GaugeMetricFamily(f"ghl_sms_{name}", doc, labels=labels)
        families.append(family)
        return family

    recipients = gauge("recipients", "Open recipients of running campaigns.", ["location", "state"])
    requests = gauge("requests", "GHL requests claimed in the last window.", ["location", "window"])
    daily = gauge("daily_used", "Today's use of a budget key.", ["location", "key"])
    daily_cap = gauge("daily_cap", "The daily cap of a budget key.", ["location", "key"])
    seen_429 = gauge("seen_429", "429 answers from GHL today.", ["location"])
    epoch = gauge("pump_epoch", "The location lease's fencing epoch.", ["location"])
    for location_id, entry in status["locations"].items():
        for state in ("due", "deferred", "sending"):
            recipients.add_metric([location_id, state], entry[state])
        requests.add_metric([location_id, "10s"], entry["requests_10s"])
        requests.add_metric([location_id, "60s"], entry["requests_60s"])
        for key, day in entry["daily"].items():
            daily.add_metric([location_id, key], day["used"])
            if day["cap"] is not None:
                daily_cap.add_metric([location_id, key], day["cap"])
        seen_429.add_metric([location_id], entry["seen_429"])
        if entry["pump"] is not None:
            epoch.add_metric([location_id], entry["pump"]["epoch"])
    jobs = gauge("jobs", "procrastinate jobs by queue and status.", ["queue", "status"])
    for queue, counts in status["jobs"]["by_queue"].items():
        for job_status, n in counts.items():
            jobs.add_metric([queue, job_status], n)
    recovered = gauge("stalled_pumps_recovered", "Pumps of stalled workers replaced.", [])
    recovered.add_metric([], status["stalled_pumps_recovered"])
    heartbeat = gauge("worker_heartbeat_age_seconds", "Since each worker's heartbeat.", ["worker"])
    for worker in status["workers"]:
        heartbeat.add_metric([worker["name"]], worker["heartbeat_age_s"])
    mine = gauge("process", "This worker process's own counters.", ["counter"])
    for name, value in process.items():
        mine.add_metric([name], value)

    class _Snapshot:
        def collect(self) -> list[GaugeMetricFamily]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot())
    return generate_latest(registry)
