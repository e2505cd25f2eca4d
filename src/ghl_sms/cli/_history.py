"""``ghl-sms history``: every send this install made, from the ledger; no GHL call."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.markup import escape

from ghl_sms._clock import utc_datetime
from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_USAGE, AppContext, CommandError, common_options, to_jsonable
from ghl_sms.cli._local import local_ledger, local_location, looks_like_phone, output_stream
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.history import (
    STATUSES,
    HistoryEntry,
    HistoryQuery,
    history,
    parse_moment,
    parse_statuses,
    write_csv,
)

__all__ = ["history_cmd"]

_TEXT_LIMIT = 50

_COLOUR = {
    "delivered": "green", "read": "green",
    "failed": "red", "undelivered": "red", "not_sent": "red", "opt_out": "red",
    "cancelled": "dim",
}  # fmt: skip


@click.command("history")
@click.option("--to", help="Only sends to this phone number.")
@click.option("--contact", "contact_id", help="Only sends to this GHL contact id.")
@click.option("--since", help="Sent at or after: 2d (ago), 12h, or 2026-03-01T00:00:00-05:00.")
@click.option("--until", help="Sent at or before (same forms as --since).")
@click.option(
    "--status", "statuses", multiple=True, metavar="STATUS",
    help="Only these statuses (repeatable or comma-separated): " + ", ".join(STATUSES) + ".",
)  # fmt: skip
@click.option("--campaign", "campaign_id", help="Only the sends of this bulk campaign.")
@click.option(
    "--limit", type=click.IntRange(min=1),
    help=f"At most this many, newest first (default: {_TEXT_LIMIT} as text, all as csv/json).",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text",
    show_default=True, help="csv and json export every field.",
)  # fmt: skip
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)  # fmt: skip
@common_options
def history_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    to: str | None,
    contact_id: str | None,
    since: str | None,
    until: str | None,
    statuses: tuple[str, ...],
    campaign_id: str | None,
    limit: int | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Every send this install made: when, to whom, the text, parts, cost estimate,
    status and why it failed. Newest first.

    Read from the local ledger only: no GHL call, no token needed (the location id is:
    GHL_LOCATION_ID, --location, or --sandbox for the sandbox's ledger). Statuses are the
    final ones the webhook receiver, `inbox --watch` or `status` recorded. The first
    column is the message id to pass to `status` or `cancel`.

    \b
    Examples:
      ghl-sms history --since 2d
      ghl-sms history --to +15551234567 --status failed,undelivered
      ghl-sms history --campaign cmp_1a2b3c4d5e6f --format csv -o sends.csv
      ghl-sms history --sandbox --json
    """
    if as_json and fmt not in ("text", "json"):
        raise CommandError(
            f"--json and --format {fmt} ask for two formats.",
            EXIT_USAGE,
            hint="Keep one of them.",
        )
    fmt = "json" if as_json else fmt
    if contact_id is not None and looks_like_phone(contact_id):
        raise CommandError(
            f"{contact_id!r} is a phone number, not a contact id.",
            EXIT_USAGE,
            hint=f"Use --to {contact_id.strip()} to see the sends to that number.",
        )
    now = utc_datetime(app.clock)
    query = HistoryQuery(
        location_id=local_location(settings),
        to=to,
        contact_id=contact_id,
        since=parse_moment(since, now) if since is not None else None,
        until=parse_moment(until, now) if until is not None else None,
        statuses=parse_statuses(statuses),
        campaign_id=campaign_id,
        # Text shows a page; one more tells whether there are more. Exports are complete.
        limit=(limit or _TEXT_LIMIT) + 1 if fmt == "text" else limit,
        default_region=settings.default_region,
    )
    with local_ledger(app, settings, create=False) as ledger:
        entries = history(ledger, EventLog(ledger.conn, app.clock), query)
    with output_stream(output) as stream:
        if fmt == "csv":
            write_csv(entries, stream)
        elif fmt == "json":
            stream.write(json.dumps(to_jsonable(entries), indent=2, ensure_ascii=False) + "\n")
        else:
            shown = limit or _TEXT_LIMIT
            _render(_console(stream), entries[:shown], more=len(entries) > shown)
    if output is not None:
        what = "send" if len(entries) == 1 else "sends"
        click.echo(f"Wrote {len(entries):,} {what} to {output}.", err=True)


def _console(stream: IO[str]) -> Console:
    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _render(out: Console, entries: list[HistoryEntry], *, more: bool) -> None:
    if not entries:
        out.print("No sends recorded for this location (with these filters).")
        return
    for entry in entries:
        # The message id first: what `status` and `cancel` take.
        who = escape(entry.contact_name or entry.contact_id or "?")
        if entry.to:
            who = f"{who} ({entry.to})" if entry.contact_name or entry.contact_id else entry.to
        colour = _COLOUR.get(entry.status, "yellow")
        campaign = f"  campaign {entry.campaign_id}" if entry.campaign_id else ""
        out.print(
            f"{entry.message_id or '(no message id)'}  {_when(entry.created_at)} -> {who}  "
            f"[{colour}]{entry.status}[/]{campaign}"
        )
        parts = f"{entry.segments} part{'' if entry.segments == 1 else 's'} {entry.encoding}"
        media = f" +{len(entry.attachments)} media" if entry.attachments else ""
        out.print(f"    {escape(entry.text)}")
        line = f"    {entry.type}{media}, {parts}, ~${entry.cost_estimate_usd:.4f}"
        if entry.scheduled_at is not None:
            line += f", scheduled for {_when(entry.scheduled_at)}"
        out.print(line)
        if entry.explanation:
            out.print(f"    {escape(entry.explanation)}")
        if entry.advice:
            out.print(f"    What to do: {escape(entry.advice)}")
    total = sum(e.cost_estimate_usd for e in entries)
    noun = "send" if len(entries) == 1 else "sends"
    out.print(f"{len(entries):,} {noun}, ~${total:.4f} estimated.")
    out.print("Details of one: ghl-sms status MESSAGE_ID")
    if more:
        out.print(f"Newest {len(entries):,} shown; --limit N shows more, --format csv exports all.")
