"""``ghl-sms bulk``: campaigns to many recipients, paced, durable and exactly once.

This module holds the group and the commands on an existing campaign (status, pause,
cancel, resume, report). ``bulk send`` is in ``_bulk_send``; the other parts are shared:
``_bulk_wiring`` opens the engine, ``_bulk_render`` prints and runs the progress display,
``_bulk_fanout`` sends to several sub-accounts at once.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO

import click

from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_FAILED,
    EXIT_USAGE,
    AppContext,
    CommandError,
    common_options,
    emit_json,
    every_location,
    run_async,
)
from ghl_sms.cli._bulk_render import (
    Workers,
    cluster_view,
    finish,
    render_list,
    render_status,
    run_campaigns,
)
from ghl_sms.cli._bulk_send import send_cmd
from ghl_sms.cli._bulk_wiring import open_engine
from ghl_sms.cli._credentials import load_config
from ghl_sms.cli._render import console
from ghl_sms.ops.bulk import CampaignState
from ghl_sms.ops.bulk.report import REPORT_FIELDS

__all__ = ["bulk"]


@click.group()
def bulk() -> None:
    """Text a list: a CSV, contact ids or a GHL tag, one template with merge fields.

    Sends run as fast as GHL allows and never faster, survive a crash (`bulk resume`),
    and never text anyone twice or anyone who opted out.

    \b
    Examples:
      ghl-sms bulk send --csv clients.csv "Hi {first_name|there}, see you {date}!" --dry-run
      ghl-sms bulk send --tag vip --per-minute 60 --file promo.txt
      ghl-sms bulk status cmp_1a2b3c4d5e6f
      ghl-sms bulk resume cmp_1a2b3c4d5e6f
    """


bulk.add_command(send_cmd)  # ``bulk send`` has a module of its own: _bulk_send


@bulk.command("status")
@click.argument("campaign_id", required=False)
@common_options
@every_location
def status_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    campaign_id: str | None,
    default_location: str | None,
) -> None:
    """A campaign's counts by state and reason, its rate and the time left; with no id,
    the campaigns of every sub-account in the ledger (--location: one sub-account's).

    \b
    Examples:
      ghl-sms bulk status
      ghl-sms bulk status --location downtown
      ghl-sms bulk status cmp_1a2b3c4d5e6f --json
    """

    async def main() -> None:
        # Only the ledger is read: no sub-account's credentials are needed.
        async with open_engine(app, settings, named={}) as opened:
            engine = opened.engine
            labels = _profile_labels(app, settings)
            wanted = _location_id(labels, default_location) if default_location else None
            cluster = cluster_view(engine) if as_json or campaign_id else None
            if campaign_id is None:
                campaigns = engine.campaigns(wanted)
                listed = [c.model_dump(mode="json") for c in campaigns]
                if cluster is not None:
                    emit_json({"campaigns": listed, "cluster": cluster})
                elif as_json:
                    emit_json(listed)
                else:
                    render_list(console(), campaigns, labels=labels, location=wanted)
                return
            status = engine.status(campaign_id)
            if wanted is not None and status.campaign.location_id != wanted:
                raise CommandError(
                    f"Campaign {campaign_id} belongs to sub-account "
                    f"{_label(labels, status.campaign.location_id)}, not "
                    f"{_label(labels, wanted)}.",
                    EXIT_USAGE,
                    hint=f"Leave out --location: `ghl-sms bulk status {campaign_id}`.",
                )
            if as_json:
                extra = {"cluster": cluster} if cluster is not None else {}
                emit_json(status.model_dump(mode="json") | extra)
            else:
                workers = Workers.of(cluster) if cluster is not None else None
                render_status(console(), status, workers)

    run_async(main)


def _profile_labels(app: AppContext, settings: Settings) -> dict[str, str]:
    """Location id -> the config profile's name, for people (none with --sandbox, which
    never reads the config)."""
    if settings.sandbox or app.config_file is None:
        return {}
    config = load_config(app.config_file)
    return {p.location_id: name for name, p in config.profiles.items()}


def _location_id(labels: dict[str, str], given: str) -> str:
    """--location as a location id: a profile's name stands for its location id."""
    given = given.strip()
    by_name = {name: location_id for location_id, name in labels.items()}
    return by_name.get(given, given)


def _label(labels: dict[str, str], location_id: str) -> str:
    name = labels.get(location_id)
    return f"{name} ({location_id})" if name else location_id


def _change(
    app: AppContext, settings: Settings, as_json: bool, campaign_id: str, verb: str
) -> None:
    async def main() -> None:
        async with open_engine(app, settings) as opened:
            engine = opened.engine
            unsettled = 0
            if verb == "cancel":
                # Sends a killed run left in flight: looked up in GHL, adopted or not sent.
                cancelled = await engine.cancel_and_settle(campaign_id)
                campaign, unsettled = cancelled.campaign, cancelled.unsettled
            else:
                campaign = getattr(engine, verb)(campaign_id)
            if as_json:
                emit_json(engine.status(campaign.id))
            else:
                console().print(f"Campaign {campaign.id} is {campaign.state}.")
            if unsettled and not engine.status(campaign_id).active:
                sends = "send" if unsettled == 1 else "sends"
                raise CommandError(
                    f"{unsettled:,} interrupted {sends} of campaign {campaign_id} could not be "
                    "checked with GHL yet (did they go out?).",
                    EXIT_FAILED,
                    hint=f"Run `ghl-sms bulk cancel {campaign_id}` again to settle them.",
                )

    run_async(main)


@bulk.command("pause")
@click.argument("campaign_id")
@common_options
def pause_cmd(*, app: AppContext, settings: Settings, as_json: bool, campaign_id: str) -> None:
    """Pause a campaign: no new sends (the few in flight finish). `bulk resume` goes on.

    Works from another terminal while the campaign sends (it only writes the ledger).

    \b
    Examples:
      ghl-sms bulk pause cmp_1a2b3c4d5e6f
      ghl-sms bulk pause --sandbox cmp_1a2b3c4d5e6f --json
    """
    _change(app, settings, as_json, campaign_id, "pause")


@bulk.command("cancel")
@click.argument("campaign_id")
@common_options
def cancel_cmd(*, app: AppContext, settings: Settings, as_json: bool, campaign_id: str) -> None:
    """Cancel a campaign: everyone not texted yet is skipped as cancelled.

    Sends a killed run left in flight are looked up in GHL and settled (adopted if they
    went out, never sent again).

    \b
    Examples:
      ghl-sms bulk cancel cmp_1a2b3c4d5e6f
      ghl-sms bulk cancel --sandbox cmp_1a2b3c4d5e6f --json
    """
    _change(app, settings, as_json, campaign_id, "cancel")


@bulk.command("resume")
@click.argument("campaign_id")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent sends.")  # fmt: skip
@click.option("--no-wait", is_flag=True, help="Return when nothing is due now.")
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="A new spend cap (after it paused the campaign).")  # fmt: skip
@common_options
def resume_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    campaign_id: str,
    workers: int,
    no_wait: bool,
    max_cost: float | None,
) -> None:
    """Continue a paused, interrupted or draft campaign until it is done.

    After a crash, the sends that were in flight are settled from the ledger (found in
    GHL and recorded, or sent): nobody is texted twice and nobody is left out.

    \b
    Examples:
      ghl-sms bulk resume cmp_1a2b3c4d5e6f
      ghl-sms bulk resume cmp_1a2b3c4d5e6f --max-cost 50
      ghl-sms bulk resume cmp_1a2b3c4d5e6f --no-wait
    """

    async def main() -> None:
        async with open_engine(app, settings, workers) as opened:
            engine = opened.engine
            campaign = engine.campaign(campaign_id)
            if campaign.state in (CampaignState.PAUSED, CampaignState.RUNNING):
                engine.resume(campaign_id, max_cost_usd=max_cost)
            elif campaign.state == CampaignState.DRAFT:
                engine.start(campaign_id)
            else:
                raise CommandError(
                    f"Campaign {campaign_id} is {campaign.state}; there is nothing to resume.",
                    EXIT_USAGE,
                )
            summary = await run_campaigns(
                engine, [(campaign_id, "sending")], as_json=as_json, no_wait=no_wait
            )
            finish(engine, [campaign_id], summary, as_json)

    run_async(main)


@bulk.command("report")
@click.argument("campaign_id")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")  # fmt: skip
@common_options
def report_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    campaign_id: str,
    fmt: str,
    output: Path | None,
) -> None:
    """Every recipient's outcome, reason and GHL message id, as CSV or JSON (streamed).

    \b
    Examples:
      ghl-sms bulk report cmp_1a2b3c4d5e6f > outcomes.csv
      ghl-sms bulk report cmp_1a2b3c4d5e6f --format json -o outcomes.json
    """
    fmt = "json" if as_json else fmt

    async def main() -> None:
        async with open_engine(app, settings) as opened:
            rows = opened.engine.report(campaign_id)
            handle: IO[str] = (
                output.open("w", encoding="utf-8", newline="") if output else sys.stdout
            )
            try:
                if fmt == "csv":
                    writer = csv.DictWriter(handle, fieldnames=REPORT_FIELDS)
                    writer.writeheader()
                    for row in rows:
                        writer.writerow(row.to_dict())
                else:
                    handle.write("[")
                    for i, row in enumerate(rows):
                        handle.write(
                            ("," if i else "")
                            + "\n  "
                            + json.dumps(row.to_dict(), ensure_ascii=False)
                        )
                    handle.write("\n]\n")
            finally:
                if output:
                    handle.close()

    run_async(main)
