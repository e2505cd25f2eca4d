"""Campaigns: the list, one campaign's live progress and chart, its failures explained,
pause/resume/cancel, and the ``bulk report`` rows as CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ghl_sms.console._core import ConsoleCore
from ghl_sms.console._http import BadInput, core_of, guarded, jsonable, ok, problem
from ghl_sms.ops.bulk import BulkEngine, CampaignNotFound, CampaignState, CampaignStateError
from ghl_sms.ops.bulk.progress import REQUESTS_PER_CONTACT
from ghl_sms.ops.history import HistoryEntry, HistoryQuery, history
from ghl_sms.rules.carrier_errors import lookup

__all__ = ["routes"]

CHART_MINUTES = 30


def _campaign_id(request: Request) -> str:
    return str(request.path_params["campaign_id"])


@guarded
async def campaigns(request: Request) -> Response:
    core = core_of(request)
    found = core.engine.campaigns(core.location_id)
    return ok({"campaigns": [_summary(core.engine, c.id) for c in found]})


def _summary(engine: BulkEngine, campaign_id: str) -> dict[str, Any]:
    progress = engine.progress(campaign_id)
    campaign = engine.campaign(campaign_id)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": str(campaign.state),
        "created_at": jsonable(campaign.created_at),
        "total": campaign.total,
        "sent": progress.sent,
        "failed": progress.failed,
        "skipped": progress.skipped,
    }


def chart(entries: list[HistoryEntry], now: float, allowed: float, first: float | None) -> Any:
    """Sends and deliveries per minute over the campaign's last ``CHART_MINUTES`` minutes."""
    end = int(now // 60)
    # The campaign's minutes, at least the last ten (one bar alone says little).
    start = max(end - CHART_MINUTES + 1, min(int((first or now) // 60), end - 9))
    sends: Counter[int] = Counter()
    deliveries: Counter[int] = Counter()
    for entry in entries:
        sends[int(entry.created_at.timestamp() // 60)] += 1
        if entry.status == "delivered" and entry.status_at is not None:
            deliveries[int(entry.status_at.timestamp() // 60)] += 1
    minutes = range(start, end + 1)
    return {
        "allowed_per_minute": allowed,
        "minutes": [
            {
                "at": datetime.fromtimestamp(m * 60, UTC).isoformat(),
                "sent": sends[m],
                "delivered": deliveries[m],
            }
            for m in minutes
        ],
    }


def _allowed_per_minute(core: ConsoleCore, campaign_id: str) -> float:
    caps = core.engine.campaign(campaign_id).caps_spec
    if caps.per_minute:
        return float(caps.per_minute)
    limits = core.engine.config.rate_limits  # GHL's request budget, a few requests a text
    return limits.burst / limits.window * 60 / REQUESTS_PER_CONTACT


def _failures(status_reasons: list[Any], entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for reason in status_reasons:
        if reason.state != "failed":
            continue
        entry = lookup(reason.code)
        found.append(
            {
                "kind": "not sent",
                "code": reason.code,
                "count": reason.count,
                "explanation": f"{entry.title}: {entry.meaning}." if entry else reason.example,
                "advice": entry.advice if entry else "Fix what the reason says, then resume.",
            }
        )
    delivery: dict[tuple[str, str | None], list[HistoryEntry]] = {}
    for item in entries:
        if item.status in ("failed", "undelivered"):
            delivery.setdefault((item.status, item.error_code), []).append(item)
    for (status, code), items in sorted(delivery.items(), key=lambda kv: -len(kv[1])):
        found.append(
            {
                "kind": status,
                "code": code or status,
                "count": len(items),
                "explanation": items[0].explanation,
                "advice": items[0].advice,
            }
        )
    return found


@guarded
async def campaign(request: Request) -> Response:
    core = core_of(request)
    campaign_id = _campaign_id(request)
    try:
        status = core.engine.status(campaign_id)
    except CampaignNotFound as exc:
        return problem(404, "not_found", str(exc))
    progress = core.engine.progress(campaign_id)
    now = core.clock.now()
    entries = history(
        core.service.ledger,
        core.service.events,
        HistoryQuery(
            location_id=core.location_id,
            campaign_id=campaign_id,
            since=datetime.fromtimestamp(now - CHART_MINUTES * 60, UTC),
            limit=None,
        ),
        config=core.service.config,
    )
    started = status.campaign.started_at or status.campaign.created_at
    left = progress.pending + status.counts.get("sending", 0) + status.interrupted
    return ok(
        {
            "campaign": status.campaign,
            "progress": {
                "total": progress.total,
                "sent": progress.sent,
                "skipped": progress.skipped,
                "failed": progress.failed,
                "deferred": progress.deferred,
                "left": left,
                "rate_per_minute": status.rate_per_minute,
                "eta_seconds": status.eta_seconds,
            },
            "active": status.active or core.runner.active,
            "worker": status.worker,
            "chart": chart(
                entries, now, _allowed_per_minute(core, campaign_id), started.timestamp()
            ),  # fmt: skip
            "failures": _failures(status.reasons, entries),
            "skipped": [r for r in status.reasons if r.state == "skipped"],
            "deferred": [r for r in status.reasons if r.state == "deferred"],
        }
    )


@guarded
async def change(request: Request) -> Response:
    core = core_of(request)
    campaign_id, verb = _campaign_id(request), request.path_params["verb"]
    engine = core.engine
    try:
        if verb == "pause":
            engine.pause(campaign_id)
        elif verb == "cancel":
            engine.cancel(campaign_id)
        elif verb in ("resume", "continue"):
            if engine.campaign(campaign_id).state == CampaignState.PAUSED:
                engine.resume(campaign_id)
            core.runner.kick()  # this console sends it, unless another process already does
        else:
            raise BadInput(f"Unknown action {verb!r}: use pause, resume or cancel.")
    except CampaignNotFound as exc:
        return problem(404, "not_found", str(exc))
    except CampaignStateError as exc:
        return problem(409, "campaign_state", str(exc))
    return ok(_summary(engine, campaign_id))


def _csv_rows(engine: BulkEngine, campaign_id: str) -> Iterator[str]:
    """``ghl-sms bulk report``'s CSV: the same rows and columns, streamed."""
    buffer = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in engine.report(campaign_id):
        line = row.to_dict()
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(line))
            writer.writeheader()
        writer.writerow(line)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@guarded
async def report(request: Request) -> Response:
    core = core_of(request)
    campaign_id = _campaign_id(request)
    try:
        core.engine.campaign(campaign_id)
    except CampaignNotFound as exc:
        return problem(404, "not_found", str(exc))
    return StreamingResponse(
        _csv_rows(core.engine, campaign_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-report.csv"'},
    )


routes = [
    Route("/api/campaigns", campaigns, methods=["GET"]),
    Route("/api/campaigns/{campaign_id}", campaign, methods=["GET"]),
    Route("/api/campaigns/{campaign_id}/report.csv", report, methods=["GET"]),
    Route("/api/campaigns/{campaign_id}/{verb}", change, methods=["POST"]),
]
