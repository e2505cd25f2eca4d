"""``ghl-sms bulk send``: what its flags mean (who to text, the template, caps and
guards) turned into a campaign, then previewed, or started and run to the end here;
several sub-accounts at once go to ``_bulk_fanout``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import click

from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_USAGE,
    AppContext,
    CommandError,
    common_options,
    emit_json,
    run_async,
    several_locations,
)
from ghl_sms.cli._bulk_fanout import fan_out, resolve_targets
from ghl_sms.cli._bulk_render import err_console, finish, render_preview, run_campaigns
from ghl_sms.cli._bulk_wiring import open_engine
from ghl_sms.cli._inputs import text_or_file
from ghl_sms.cli._render import console, plural
from ghl_sms.ops._when import parse_when
from ghl_sms.ops.bulk import (
    CampaignSpec,
    Caps,
    ContactIdsSource,
    CsvSource,
    Guards,
    RecipientSource,
    SendWindow,
    TagSource,
)

__all__ = ["send_cmd"]


def _source(
    csv_path: Path | None,
    contacts: str | None,
    contacts_file: Path | None,
    tag: str | None,
) -> RecipientSource:
    given = [x for x in (csv_path, contacts, contacts_file, tag) if x]
    if len(given) != 1:
        raise CommandError(
            "Say who to text, once: --csv FILE, --contacts ID,ID..., --contacts-file FILE or "
            "--tag TAG.",
            EXIT_USAGE,
        )
    if csv_path is not None:
        return CsvSource(csv_path)
    if tag:
        return TagSource(tag)
    if contacts_file is not None:
        ids = _read_ids(contacts_file)
        return ContactIdsSource(ids, label=f"contacts:{contacts_file.name}")
    assert contacts is not None
    return ContactIdsSource([c for c in contacts.split(",") if c.strip()])


def _read_ids(path: Path) -> Iterator[str]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Can't read {path}: {exc.strerror or exc}.", EXIT_USAGE) from None
    with handle:
        for line in handle:
            if line.strip() and not line.startswith("#"):
                yield line.strip()


def _rate(text: str, option: str) -> float | None:
    """``20%``, ``0.2`` or ``off``."""
    raw = text.strip().lower()
    if raw in ("off", "none", "0", "0%"):
        return None
    try:
        rate = float(raw.removesuffix("%")) / (100 if raw.endswith("%") else 1)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 1:
        raise CommandError(
            f"{option} {text!r} is not a share; use a percentage such as 20% (or off).",
            EXIT_USAGE,
        )
    return rate


def _deadline(text: str, app: AppContext) -> float:
    now = datetime.fromtimestamp(app.clock.now(), UTC)
    try:
        when = parse_when(text, now)
    except ValueError as exc:
        raise CommandError(f"--expire-after: {exc}", EXIT_USAGE) from None
    if when <= now:
        raise CommandError(
            f"--expire-after {text!r} has already passed; give a later time or a duration "
            "such as 2h.",
            EXIT_USAGE,
        )
    return when.timestamp()


def _send_window(text: str) -> SendWindow:
    try:
        return SendWindow.parse(text)
    except ValueError as exc:
        raise CommandError(f"--send-window: {exc}.", EXIT_USAGE) from None


@click.command("send")
@click.argument("template", required=False)
@click.option(
    "--file", "template_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Read the template from a UTF-8 file (- reads standard input).",
)  # fmt: skip
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Recipients: a CSV with a phone or contact_id column; other columns are fields.",
)  # fmt: skip
@click.option("--contacts", help="Recipients: contact ids, comma-separated.")
@click.option(
    "--contacts-file", type=click.Path(dir_okay=False, path_type=Path),
    help="Recipients: a file of contact ids, one a line.",
)  # fmt: skip
@click.option("--tag", help="Recipients: every contact with this GHL tag.")
@click.option("--name", help="A name for the campaign.")
@click.option("--from", "from_number", help="Sending number (default: the location's default).")
@click.option("--media", "attachments", multiple=True, help="Public media URL (MMS); repeatable.")
@click.option("--transactional", is_flag=True, help="Not marketing: quiet hours don't apply.")
@click.option(
    "--quiet-hours", type=click.Choice(["defer", "skip"]), default="defer", show_default=True,
    help="A recipient in their quiet hours (or outside --send-window) waits for their next "
    "allowed moment, or is skipped.",
)  # fmt: skip
@click.option(
    "--send-window", metavar="HH:MM-HH:MM",
    help="Text each recipient only between these times of their own local day (e.g. "
    "09:30-17:00), on top of quiet hours; also with --transactional. Outside it: as "
    "--quiet-hours says.",
)  # fmt: skip
@click.option("--per-minute", type=click.IntRange(1), help="Cap: messages a minute (location).")
@click.option("--per-day", type=click.IntRange(1), help="Cap: messages a day (location).")
@click.option("--number-per-minute", type=click.IntRange(1), help="Cap per sending number.")
@click.option("--number-per-day", type=click.IntRange(1), help="Daily cap per sending number.")
@click.option("--day-timezone", help="Zone whose midnight resets daily caps (default: location's).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent sends.")  # fmt: skip
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD",
              help="Pause before the estimated spend would pass this.")  # fmt: skip
@click.option("--expire-after", metavar="WHEN",
              help="Skip anyone not texted by then (2h, 1d, or an ISO time).")  # fmt: skip
@click.option("--max-failure-rate", default="20%", show_default=True, metavar="PCT",
              help="Pause when this share of recent sends fails ('off' to disable).")  # fmt: skip
@click.option("--max-opt-out-rate", default="5%", show_default=True, metavar="PCT",
              help="Pause when this share of recent recipients opts out ('off').")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Counts, skips, parts and cost; send nothing.")
@click.option("--check-dnd", is_flag=True, help="With --dry-run: read every contact (DND).")
@click.option("--no-wait", is_flag=True, help="Return when nothing is due now (resume later).")
@common_options
@several_locations
def send_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    locations: tuple[str, ...],
    template: str | None,
    template_file: Path | None,
    csv_path: Path | None,
    contacts: str | None,
    contacts_file: Path | None,
    tag: str | None,
    name: str | None,
    from_number: str | None,
    attachments: tuple[str, ...],
    transactional: bool,
    quiet_hours: Literal["defer", "skip"],
    send_window: str | None,
    per_minute: int | None,
    per_day: int | None,
    number_per_minute: int | None,
    number_per_day: int | None,
    day_timezone: str | None,
    workers: int,
    max_cost: float | None,
    expire_after: str | None,
    max_failure_rate: str,
    max_opt_out_rate: str,
    dry_run: bool,
    check_dnd: bool,
    no_wait: bool,
) -> None:
    """Send one template to a list, paced under GHL's limits and your caps.

    Merge fields come from the CSV's columns or the GHL contact: {first_name},
    {custom.FIELD_ID}; {first_name|there} gives a fallback, and a recipient missing a
    field without one is skipped. DND, opted-out, invalid and duplicate recipients are
    skipped with their reasons. Killed at any moment, `bulk resume ID` finishes it with
    exactly one message per recipient.

    \b
    Examples:
      ghl-sms bulk send --csv list.csv "Hi {first_name|there}! Reply STOP to opt out" --dry-run
      ghl-sms bulk send --tag reminders --transactional --file reminder.txt
      ghl-sms bulk send --contacts-file ids.txt --per-minute 30 --per-day 2000 "Sale today"
      ghl-sms bulk send --tag reminders --transactional --expire-after 3h --max-cost 25 "..."
      ghl-sms bulk send --location downtown,uptown,harbor --tag vip --file promo.txt
      ghl-sms bulk send --csv list.csv --send-window 09:30-17:00 --file promo.txt

    With several --location (comma-separated or repeated) and --tag: a campaign per
    sub-account from the tag in each, all created or none, sent at once, each at its
    own limits through its own credentials.

    A campaign pauses itself when failures (default 20% of the last 50 sends) or
    opt-outs (5% of the last 200 texted) run high, or before --max-cost would be
    passed; `bulk status` says why and `bulk resume` continues on purpose.
    """
    body = text_or_file(template, template_file, what="template")
    if check_dnd and not dry_run:
        raise CommandError("--check-dnd goes with --dry-run.", EXIT_USAGE)
    source = _source(csv_path, contacts, contacts_file, tag)
    window = _send_window(send_window) if send_window is not None else None
    guards = Guards(
        max_failure_rate=_rate(max_failure_rate, "--max-failure-rate"),
        max_opt_out_rate=_rate(max_opt_out_rate, "--max-opt-out-rate"),
        max_cost_usd=max_cost,
        expires_at=_deadline(expire_after, app) if expire_after else None,
    )

    def spec_for(location_id: str) -> CampaignSpec:
        return CampaignSpec(
            location_id=location_id,
            template=body,
            name=name,
            from_number=from_number,
            attachments=attachments,
            transactional=transactional,
            quiet_hours=quiet_hours,
            send_window=window,
            caps=Caps(
                per_minute=per_minute,
                per_day=per_day,
                number_per_minute=number_per_minute,
                number_per_day=number_per_day,
                day_timezone=day_timezone,
            ),
            guards=guards,
        )

    if len(locations) > 1:
        if not isinstance(source, TagSource):
            raise CommandError(
                f"A list belongs to one sub-account; {len(locations)} were named with --location.",
                EXIT_USAGE,
                hint="To text several sub-accounts, use --tag TAG (read in each); send a CSV "
                "or contact ids with one --location.",
            )
        if from_number:
            raise CommandError(
                "--from names one sub-account's number; several were named with --location.",
                EXIT_USAGE,
                hint="Leave out --from: each sub-account texts from its own default number.",
            )
        targets = resolve_targets(app, settings, locations)
        run_async(
            lambda: fan_out(
                app,
                settings,
                targets,
                spec_for=spec_for,
                source=source,
                workers=workers,
                as_json=as_json,
                dry_run=dry_run,
                check_dnd=check_dnd,
                no_wait=no_wait,
            )
        )
        return

    async def main() -> None:
        async with open_engine(app, settings, workers) as opened:
            engine = opened.engine
            assert opened.location_id is not None
            campaign = await engine.create(spec_for(opened.location_id), source)
            if dry_run:
                try:
                    preview = await engine.preview(campaign.id, check_contacts=check_dnd)
                finally:
                    engine.discard(campaign.id)
                if as_json:
                    emit_json(preview.model_dump(mode="json") | {"dry_run": True})
                else:
                    render_preview(console(), campaign, preview)
                return
            engine.start(campaign.id)
            if not as_json:
                # On PostgreSQL the workers send it (and carry on if one stops): nothing
                # for this command to resume.
                then = (
                    ""
                    if engine.jobs is not None
                    else f" If this stops, continue with: ghl-sms bulk resume {campaign.id}"
                )
                err_console().print(
                    f"Campaign {campaign.id}: {plural(campaign.total, 'recipient')}.{then}"
                )
            summary = await run_campaigns(
                engine, [(campaign.id, "sending")], as_json=as_json, no_wait=no_wait
            )
            finish(engine, [campaign.id], summary, as_json)

    run_async(main)
