"""``bulk send --location A,B,C --tag T``: one template fanned out to several
sub-accounts, a campaign per location sourced from the tag there.

All or nothing: every location is resolved and every campaign created (its tag read in
its own location) before any starts; if one fails, none is kept and the error names
each location that failed. Then they run at once, each location's pump at that
location's own limits, through its own credentials, with a progress line each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
from rich.markup import escape

from ghl_sms._settings import Settings
from ghl_sms.cli._app import EXIT_FAILED, EXIT_USAGE, AppContext, CommandError, emit_json
from ghl_sms.cli._bulk_render import err_console, finish, render_preview, run_campaigns
from ghl_sms.cli._bulk_wiring import open_engine
from ghl_sms.cli._errors import known_errors, translate
from ghl_sms.cli._render import console, plural
from ghl_sms.ops.bulk import BulkEngine, Campaign, CampaignSpec, RecipientSource

__all__ = ["Target", "fan_out", "resolve_targets"]

_ANTICIPATED: tuple[type[Exception], ...] = (CommandError, *known_errors())
"""What creating one location's campaign may raise and the others outlive."""


@dataclass(frozen=True)
class Target:
    label: str
    """As given to --location: a profile's name or a location id."""
    location_id: str
    settings: Settings

    @property
    def name(self) -> str:
        """For people: ``downtown (ve9EPM...)``, or the id alone when it was given."""
        if self.label == self.location_id:
            return self.location_id
        return f"{self.label} ({self.location_id})"


def _problems(failures: Sequence[tuple[str, CommandError]], of: int) -> CommandError:
    """One error naming every location that failed (a reason shared said once)."""
    by_reason: dict[str, list[str]] = {}
    for who, error in failures:
        by_reason.setdefault(error.message.rstrip("."), []).append(who)
    reasons = "; ".join(f"{', '.join(who)}: {reason}" for reason, who in by_reason.items())
    hints = dict.fromkeys(e.hint for _, e in failures if e.hint)
    code = EXIT_USAGE if any(e.exit_code == EXIT_USAGE for _, e in failures) else EXIT_FAILED
    return CommandError(
        f"No campaign was created: {len(failures)} of the {of} sub-accounts can't take it. "
        f"{reasons}.",
        code,
        hint=" ".join([*hints, "Fix or leave out the sub-accounts named, then run it again."]),
    )


def resolve_targets(app: AppContext, settings: Settings, locations: Sequence[str]) -> list[Target]:
    """Each --location value's own credentials: a profile's token or the agency login's
    location token (GHL_TOKEN serves only GHL_LOCATION_ID: it is one sub-account's)."""
    assert app.resolve_location is not None  # set by connection_options
    targets: list[Target] = []
    failures: list[tuple[str, CommandError]] = []
    for given in locations:
        try:
            own = app.resolve_location(given)
        except CommandError as exc:
            failures.append((given, exc))
            continue
        location_id = own.location_id or given
        borrowed = own.profile is None and own.oauth_store is None
        if borrowed and location_id != settings.location_id:
            failures.append(
                (
                    given,
                    CommandError(
                        "no credentials of its own (a profile, or the agency login)",
                        EXIT_USAGE,
                        hint="Add it with `ghl-sms locations add NAME --location ID`, or "
                        "log in with `ghl-sms login`.",
                    ),
                )
            )
            continue
        if any(t.location_id == location_id for t in targets):
            failures.append((given, CommandError(f"named twice (it is {location_id})", EXIT_USAGE)))
            continue
        targets.append(Target(given, location_id, own))
    if failures:
        raise _problems(failures, len(locations))
    return targets


async def _create_all(
    engine: BulkEngine,
    targets: Sequence[Target],
    spec_for: Callable[[str], CampaignSpec],
    source: RecipientSource,
) -> list[Campaign]:
    """A draft campaign per location, created at once; all or none."""
    created: dict[str, Campaign] = {}
    failures: dict[str, CommandError] = {}

    async def create(target: Target) -> None:
        try:
            created[target.location_id] = await engine.create(spec_for(target.location_id), source)
        except _ANTICIPATED as exc:
            mapped = translate(exc)
            if mapped is None:
                raise
            failures[target.location_id] = mapped

    async with anyio.create_task_group() as group:
        for target in targets:
            group.start_soon(create, target)
    if failures:
        for campaign in created.values():
            engine.discard(campaign.id)
        named = [(t.name, failures[t.location_id]) for t in targets if t.location_id in failures]
        raise _problems(named, len(targets))
    return [created[t.location_id] for t in targets]


async def fan_out(
    app: AppContext,
    settings: Settings,
    targets: Sequence[Target],
    *,
    spec_for: Callable[[str], CampaignSpec],
    source: RecipientSource,
    workers: int,
    as_json: bool,
    dry_run: bool,
    check_dnd: bool,
    no_wait: bool,
) -> None:
    named = {t.location_id: t.settings for t in targets}
    async with open_engine(app, settings, workers, named=named) as opened:
        engine = opened.engine
        campaigns = await _create_all(engine, targets, spec_for, source)
        if dry_run:
            await _preview_all(engine, targets, campaigns, as_json=as_json, check_dnd=check_dnd)
            return
        for campaign in campaigns:
            engine.start(campaign.id)
        if not as_json:
            out = err_console()
            sandbox = " --sandbox" if settings.sandbox else ""
            for target, campaign in zip(targets, campaigns, strict=True):
                # On PostgreSQL the workers send it and carry on if one stops.
                resume = f"ghl-sms bulk resume{sandbox} {campaign.id}"
                then = "" if engine.jobs is not None else f" If this stops, continue with: {resume}"

                out.print(
                    f"Campaign {campaign.id} for {target.name}: "
                    f"{plural(campaign.total, 'recipient')}.{then}"
                )
        labelled = [(c.id, t.name) for t, c in zip(targets, campaigns, strict=True)]
        summary = await run_campaigns(engine, labelled, as_json=as_json, no_wait=no_wait)
        finish(engine, [c.id for c in campaigns], summary, as_json)


async def _preview_all(
    engine: BulkEngine,
    targets: Sequence[Target],
    campaigns: Sequence[Campaign],
    *,
    as_json: bool,
    check_dnd: bool,
) -> None:
    """Each location's dry run; the drafts are discarded whatever happens."""
    previews = []
    try:
        for campaign in campaigns:
            previews.append(await engine.preview(campaign.id, check_contacts=check_dnd))
    finally:
        for campaign in campaigns:
            engine.discard(campaign.id)
    if as_json:
        emit_json(
            {
                "dry_run": True,
                "locations": [
                    {"location": t.label, "location_id": t.location_id} | p.model_dump(mode="json")
                    for t, p in zip(targets, previews, strict=True)
                ],
            }
        )
        return
    out = console()
    for target, campaign, preview in zip(targets, campaigns, previews, strict=True):
        out.print(f"[bold]{escape(target.name)}[/]")
        render_preview(out, campaign, preview)
