"""History: every send this install made (the ledger alone), filtered, as JSON or CSV."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms.console._http import core_of, guarded, ok
from ghl_sms.ops.history import HistoryQuery, history, parse_moment, parse_statuses, write_csv

__all__ = ["routes"]

SHOWN = 200


def _query(request: Request, limit: int | None) -> HistoryQuery:
    core = core_of(request)
    given = {k: (v.strip() or None) for k, v in request.query_params.items()}
    now = datetime.fromtimestamp(core.clock.now(), UTC)
    # Bad filters raise UsageError, shown by the page as the CLI would say it.
    since_text, until_text = given.get("since"), given.get("until")
    status_text = given.get("status")
    since = parse_moment(since_text, now) if since_text else None
    until = parse_moment(until_text, now) if until_text else None
    statuses = parse_statuses([status_text]) if status_text else frozenset()
    return HistoryQuery(
        location_id=core.location_id,
        to=given.get("to"),
        contact_id=given.get("contact"),
        since=since,
        until=until,
        statuses=statuses,
        campaign_id=given.get("campaign"),
        limit=limit,
        default_region=core.service.config.default_region,
    )


@guarded
async def entries(request: Request) -> Response:
    core = core_of(request)
    found = history(
        core.service.ledger,
        core.service.events,
        _query(request, SHOWN + 1),
        config=core.service.config,
    )
    return ok({"entries": found[:SHOWN], "more": len(found) > SHOWN})


@guarded
async def export(request: Request) -> Response:
    core = core_of(request)
    found = history(
        core.service.ledger, core.service.events, _query(request, None), config=core.service.config
    )
    stream = io.StringIO()
    write_csv(found, stream)
    return Response(
        stream.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ghl-sms-history.csv"'},
    )


routes = [
    Route("/api/history", entries, methods=["GET"]),
    Route("/api/history.csv", export, methods=["GET"]),
]
