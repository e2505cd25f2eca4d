"""What ``ghl-sms bulk`` prints: previews, statuses, campaign lists, and one live
progress display with a line per campaign (one location's, or several at once)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Column

from ghl_sms.cli._app import EXIT_FAILED, CommandError, emit_json
from ghl_sms.cli._render import console, plural
from ghl_sms.ops.bulk import (
    BulkEngine,
    Campaign,
    CampaignProgress,
    CampaignState,
    CampaignStatus,
    Preview,
    RunSummary,
)

__all__ = [
    "Bars",
    "Workers",
    "cluster_view",
    "duration",
    "err_console",
    "finish",
    "render_list",
    "render_preview",
    "render_status",
    "run_campaigns",
    "when",
]


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def render_preview(out: Console, campaign: Campaign, preview: Preview) -> None:
    out.print(
        f"Dry run of {escape(campaign.name)}: {plural(preview.total, 'recipient')}, "
        f"[green]{preview.would_send:,} would be texted[/], "
        f"{sum(r.count for r in preview.skipped):,} skipped. Nothing sent."
    )
    if campaign.send_window:
        out.print(f"  send window {campaign.send_window}, each recipient's local time")
    for reason in preview.skipped:
        example = f" (e.g. {escape(reason.example)})" if reason.example else ""
        out.print(f"  skipped {reason.count:>6,}  {reason.code}{example}")
    out.print(
        f"  {plural(preview.messages_parts, 'part')} in all (up to {preview.max_parts:,} a "
        f"message, {', '.join(f'{n:,} {e}' for e, n in preview.encodings.items()) or 'none'}), "
        f"about ${preview.cost_estimate_usd:,.2f}; "
        f"{plural(preview.requests_estimate, 'GHL request')}, "
        f"about {duration(preview.duration_estimate_seconds)} at the allowed rate."
    )
    for sample in preview.samples:
        who = sample.to or sample.contact_id or "?"
        out.print(f"  #{sample.seq} {who}: {escape(sample.text or '')}")
    for warning in preview.warnings:
        out.print(f"  [yellow]note[/] {escape(warning)}")
    if not preview.dnd_checked and preview.would_send:
        out.print("  Check DND now with --check-dnd (one GHL request per recipient).")


@dataclass(frozen=True)
class Workers:
    """PostgreSQL mode: the `ghl-sms worker` processes, as the cluster view counts them."""

    alive: int
    """Workers whose heartbeat is recent (a silent one is dead or frozen)."""
    pumps: int
    """Locations a pump holds right now, across the workers."""

    SILENT_SECONDS = 120.0
    """A worker beats every ``--stall-timeout`` / 6 seconds, so every 100 s at most (the
    option stops at 600); one silent longer than this is not counted. A killed worker's
    row may be counted until then; a live one is never missed."""

    @classmethod
    def of(cls, cluster: Mapping[str, Any]) -> Workers:
        alive = sum(
            1 for w in cluster.get("workers", ()) if w["heartbeat_age_s"] <= cls.SILENT_SECONDS
        )
        pumps = sum(
            1
            for entry in cluster.get("locations", {}).values()
            if entry.get("pump") and entry["pump"].get("holder")
        )
        return cls(alive=alive, pumps=pumps)

    def describe(self) -> str:
        return f"{plural(self.alive, 'worker')} running {plural(self.pumps, 'pump')}"


def cluster_view(engine: BulkEngine) -> dict[str, Any] | None:
    """PostgreSQL mode: queue depth, per-location rates and caps, 429s, recoveries, the
    workers and their pumps (the queries of ``bulk status --json``); None otherwise."""
    if engine.jobs is None:
        return None
    from ghl_sms.ops.jobs.observe import scale_status

    return scale_status(engine.ledger.conn, daily_request_cap=engine.config.rate_limits.daily)


def _who_sends(status: CampaignStatus, workers: Workers | None) -> str:
    if workers is None:  # embedded: this process or another `ghl-sms bulk` run sends
        return f"sending now ({status.worker})" if status.active else "no process is sending"
    if status.active:
        return f"a worker is sending it ({status.worker}; {workers.describe()})"
    if not workers.alive:
        return "queued for the workers, but no worker is running"
    if status.next_due_at is not None:
        return f"queued for the workers ({workers.describe()}); due {when(status.next_due_at)}"
    return f"queued for the workers ({workers.describe()}); none has picked it up yet"


def render_status(out: Console, status: CampaignStatus, workers: Workers | None = None) -> None:
    """One campaign's status; ``workers`` in PostgreSQL mode, where only `ghl-sms worker`
    processes send (never this one)."""
    c = status.campaign
    counts = status.counts
    out.print(f"Campaign {c.id} ({escape(c.name)}): [bold]{c.state}[/]")
    if c.state_reason:
        out.print(f"  [red]{escape(c.state_reason)}[/]")
    if c.send_window:
        out.print(f"  send window {c.send_window}, each recipient's local time")
    if c.waiting_reason and c.state == CampaignState.RUNNING:
        out.print(
            f"  waiting for {c.waiting_reason.replace('_', ' ')} until {when(c.waiting_until)}"
        )
    to_go = counts.get("pending", 0) + counts.get("sending", 0) + status.interrupted
    out.print(
        f"  {plural(c.total, 'recipient')}: {counts.get('sent', 0):,} sent, "
        f"{counts.get('skipped', 0):,} skipped, {counts.get('failed', 0):,} failed, "
        f"{counts.get('deferred', 0):,} deferred, {to_go:,} to go"
    )
    if c.state == CampaignState.RUNNING:
        out.print(
            f"  {status.rate_per_minute:,.0f} sent in the last minute, "
            f"{duration(status.eta_seconds)} left; {_who_sends(status, workers)}"
        )
    if status.interrupted:
        settle = "cancel" if c.state == CampaignState.CANCELLED else "resume"
        out.print(
            f"  {status.interrupted:,} interrupted mid-send; `ghl-sms bulk {settle} {c.id}` "
            f"settles {'it' if status.interrupted == 1 else 'them'} (looked up in GHL, never "
            "sent twice)"
        )
    for reason in status.reasons:
        example = f": {escape(reason.example)}" if reason.example else ""
        out.print(f"  {reason.state} {reason.count:>6,}  {reason.code}{example}")
    if c.state == CampaignState.RUNNING and not status.active:
        if workers is None:
            out.print(f"Continue it with: ghl-sms bulk resume {c.id}")
        elif not workers.alive:
            out.print(
                "Start a worker (any machine with the same GHL_SMS_DATABASE_URL and "
                "credentials): ghl-sms worker"
            )


def render_list(
    out: Console,
    campaigns: list[Campaign],
    *,
    labels: Mapping[str, str] | None = None,
    location: str | None = None,
) -> None:
    """Campaigns under a heading per sub-account (most recent first): ``labels`` names
    the location ids that are config profiles; ``location`` is the one --location named."""
    labels = labels or {}

    def label(location_id: str) -> str:
        name = labels.get(location_id)
        return f"{escape(name)} ({location_id})" if name else location_id

    if not campaigns:
        where = f" in sub-account {label(location)}" if location else ""
        out.print(f"No campaigns{where} yet; start one with `ghl-sms bulk send`.")
        return
    by_location: dict[str, list[Campaign]] = {}
    for c in campaigns:
        by_location.setdefault(c.location_id, []).append(c)
    for location_id, theirs in by_location.items():
        out.print(f"Sub-account {label(location_id)}:")
        for c in theirs:
            out.print(
                f"  {c.id}  {str(c.state):<9}  {plural(c.total, 'recipient'):>17}  "
                f"{when(c.created_at)}  "
                f"{escape(c.name)}"
            )
    if len(by_location) > 1:
        out.print("One sub-account's only: --location NAME|ID.")


class Bars:
    """Rich progress bars on stderr, a line per campaign, fed by the engine's progress
    callback (one callback for every campaign of the run)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        # On a narrow terminal the details give way (ellipsis); the label, bar and count
        # of every line stay whole.
        self.progress = Progress(
            TextColumn("[bold]{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=20, table_column=Column(min_width=20, no_wrap=True)),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TextColumn(
                "{task.fields[detail]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=err_console(),
            transient=False,
            expand=True,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Bars:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()

    def add(self, campaign: Campaign, label: str) -> None:
        if self.enabled:
            self.tasks[campaign.id] = self.progress.add_task(
                escape(label), total=campaign.total, detail=""
            )

    def update(self, p: CampaignProgress) -> None:
        task = self.tasks.get(p.campaign_id)
        if task is None:
            return
        waiting = (
            f", waiting for {p.waiting_reason.replace('_', ' ')} until {when(p.waiting_until)}"
            if p.waiting_reason
            else ""
        )
        state = "" if p.state == CampaignState.RUNNING else f"{p.state}  "
        detail = (
            f"{state}sent {p.sent:,}  skipped {p.skipped:,}  failed {p.failed:,}  "
            f"{p.rate_per_minute:,.0f}/min  {duration(p.eta_seconds)} left{waiting}"
        )
        self.progress.update(task, completed=p.done, total=p.total, detail=detail)


async def run_campaigns(
    engine: BulkEngine,
    labelled: Sequence[tuple[str, str]],
    *,
    as_json: bool,
    no_wait: bool,
) -> RunSummary:
    """Run these campaigns at once ((campaign id, label) pairs; each location's pump at
    its own limits) with a progress line each. On PostgreSQL they are only queued:
    `ghl-sms worker` processes send them."""
    if engine.jobs is not None:
        return queue_campaigns(engine, [campaign_id for campaign_id, _ in labelled], as_json)
    with Bars(enabled=not as_json) as bars:
        for campaign_id, label in labelled:
            bars.add(engine.campaign(campaign_id), label)
            bars.update(engine.progress(campaign_id))
        return await engine.run(
            [campaign_id for campaign_id, _ in labelled],
            until="idle" if no_wait else "done",
            on_progress=bars.update,
        )


def queue_campaigns(engine: BulkEngine, campaign_ids: Sequence[str], as_json: bool) -> RunSummary:
    """PostgreSQL mode: a pump job for each campaign's location (one that waits already
    is kept); the workers send, and this command returns at once."""
    assert engine.jobs is not None
    for campaign_id in campaign_ids:
        engine.jobs.request_pump(engine.campaign(campaign_id).location_id)
    if not as_json:
        which = ", ".join(campaign_ids)
        err_console().print(
            f"Queued {which}: `ghl-sms worker` processes send it (start one on any machine "
            "with the same GHL_SMS_DATABASE_URL and credentials: ghl-sms worker). Follow it "
            f"with: ghl-sms bulk status {campaign_ids[0]}"
        )
    return RunSummary(campaigns=[engine.progress(c) for c in campaign_ids])


def _print_busy(out: Console, summary: RunSummary) -> None:
    for location, holder in summary.busy_locations.items():
        out.print(
            f"Another process ({holder}) is sending for location {location}; it sends "
            "this campaign too. Follow it with `ghl-sms bulk status`."
        )


def _self_paused(statuses: Sequence[CampaignStatus]) -> None:
    """Exit 1 naming each campaign that paused itself (a guard, an auth error)."""
    paused = [
        s.campaign
        for s in statuses
        if s.campaign.state == CampaignState.PAUSED and s.campaign.state_reason
    ]
    if len(paused) == 1 and len(statuses) == 1:
        raise CommandError(
            f"Campaign {paused[0].id} paused itself: {paused[0].state_reason}", EXIT_FAILED
        )
    if paused:
        raise CommandError(
            "; ".join(
                f"campaign {c.id} ({c.location_id}) paused itself: {c.state_reason}" for c in paused
            ),
            EXIT_FAILED,
            hint="The others went on; `ghl-sms bulk resume ID` continues one on purpose.",
        )


def finish(
    engine: BulkEngine, campaign_ids: Sequence[str], summary: RunSummary, as_json: bool
) -> None:
    """Each campaign's status; a campaign that paused itself fails the command (exit 1)."""
    statuses = [engine.status(campaign_id) for campaign_id in campaign_ids]
    if as_json:
        busy = {"busy_locations": summary.busy_locations}
        if len(statuses) == 1:
            emit_json({**statuses[0].model_dump(mode="json"), **busy})
        else:
            emit_json({"campaigns": [s.model_dump(mode="json") for s in statuses], **busy})
    else:
        out = console()
        _print_busy(out, summary)
        cluster = cluster_view(engine)
        workers = Workers.of(cluster) if cluster is not None else None
        for status in statuses:
            render_status(out, status, workers)
            if status.campaign.state == CampaignState.COMPLETED:
                out.print(f"Every recipient's outcome: ghl-sms bulk report {status.campaign.id}")
    _self_paused(statuses)
