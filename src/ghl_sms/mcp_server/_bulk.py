"""``sms_bulk_send`` (and the campaign status ``sms_campaign`` shows): a campaign from an
assistant.

The campaign is created and previewed (counts, skips by reason, sample texts, parts,
cost) before anything is sent; the user confirms that preview like a single send. Once
confirmed it runs in the background for the server's lifetime, paced under the
location's budget (the one-to-one tools draw from the same budget), and survives a
restart: running campaigns are picked up again when the server starts. On PostgreSQL
(GHL_SMS_DATABASE_URL) the server only queues a started or resumed campaign for the
``ghl-sms worker`` processes, which send it under the same shared budget.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver import Context, Elicit, Resolve

from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import BulkOut, BulkStatusOut
from ghl_sms.mcp_server._send import Confirm, ask_approval
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops.errors import UsageError

# The bulk engine is imported when a location opens, not for tools/list.
if TYPE_CHECKING:
    from ghl_sms.mcp_server._locations import Site
    from ghl_sms.ops.bulk import BulkEngine, Preview, RecipientSource
    from ghl_sms.ops.service import SmsService

__all__ = ["BulkRunner", "PlannedBulk", "bulk_engine", "confirm_bulk", "plan_bulk"]

logger = logging.getLogger(__name__)

CHECK_CONTACTS_UP_TO = 1000
"""Lists up to this long are checked contact by contact before the user confirms (one
paced request each, about 2 minutes at GHL's rate); longer ones are counted locally and
DND is applied as each message is sent."""


class BulkRunner:
    """Keeps one background run going while this location has running campaigns."""

    def __init__(self, engine: BulkEngine, location_id: str, tasks: TaskGroup) -> None:
        self.engine = engine
        self.location_id = location_id
        self._tasks = tasks
        self._active = False
        self.idle = anyio.Event()
        self.idle.set()

    @property
    def queued(self) -> bool:
        """PostgreSQL: campaigns are queued for `ghl-sms worker`; this server sends none."""
        return self.engine.jobs is not None

    def kick(self) -> None:
        """Make sure running campaigns are being sent (a run in progress serves them all);
        on PostgreSQL the workers send them (``start`` and ``resume`` queued the pump)."""
        if self.queued:
            return
        if not self._active:
            self._active = True
            self.idle = anyio.Event()
            self._tasks.start_soon(self._loop)

    def _running(self) -> list[str]:
        from ghl_sms.ops.bulk import CampaignState

        return [
            c.id
            for c in self.engine.campaigns(self.location_id)
            if c.state == CampaignState.RUNNING
        ]

    async def _loop(self) -> None:
        try:
            while running := self._running():
                summary = await self.engine.run(running, until="done")
                if summary.busy_locations:
                    # Another process (a `ghl-sms bulk` run, another server) is sending this
                    # location's campaigns; it finishes them, and we don't spin.
                    logger.info("campaigns of %s are being sent by %s", self.location_id,
                                summary.busy_locations.get(self.location_id))  # fmt: skip
                    break
        except Exception:  # a bug must not take the server down; the campaign stays resumable
            logger.exception("bulk run stopped; `ghl-sms bulk resume` continues it")
        finally:
            self._active = False
            self.idle.set()


@asynccontextmanager
async def bulk_engine(service: SmsService) -> AsyncIterator[BulkEngine]:
    """An engine over the service's own client and ledger; the client's pacer becomes the
    location's shared budget, so one-to-one tools and campaigns never overspend it. On
    PostgreSQL it only queues campaigns for the workers (``BulkRunner.queued``)."""
    from ghl_sms.ops.bulk.for_service import engine_for_service

    yield engine_for_service(service, face="this server")


@dataclass(frozen=True)
class PlannedBulk:
    site: Site
    """The sub-account the campaign belongs to (a campaign has one)."""
    campaign_id: str
    preview: Preview | None
    """None when the campaign had already been started by an earlier identical call."""
    dry_run: bool


def _campaign_id(location_id: str, key: str | None, parts: list[Any]) -> str:
    """Stable per request: a retried call finds its campaign instead of making another."""
    seed = json.dumps([location_id, key] if key else [location_id, *parts], default=str)
    return "cmp_" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def _source(
    contact_ids: list[str] | None, tag: str | None, csv_path: str | None
) -> RecipientSource:
    from ghl_sms.ops.bulk import ContactIdsSource, CsvSource, TagSource

    given = [s for s in (contact_ids, tag, csv_path) if s]
    if len(given) != 1:
        raise UsageError("Give exactly one recipient source: contact_ids, tag or csv_path.")
    if contact_ids:
        return ContactIdsSource(contact_ids)
    if tag:
        return TagSource(tag)
    assert csv_path is not None
    path = Path(csv_path).expanduser()
    if not path.is_file():
        raise UsageError(f"No CSV file at {path}; give the full path of a local file.")
    return CsvSource(path)


async def plan_bulk(
    ctx: Context[AppState, Any],
    template: str,
    contact_ids: list[str] | None,
    tag: str | None,
    csv_path: str | None,
    from_number: str | None,
    transactional: bool,
    per_minute: int | None,
    dry_run: bool,
    campaign_key: str | None,
    media_urls: tuple[str, ...] = (),
    location: str | None = None,
) -> PlannedBulk:
    from ghl_sms.ops.bulk import CampaignSpec, CampaignState, Caps

    state = ctx.request_context.lifespan_context
    with tool_errors():
        site = await state.locations.site(location)
    engine = site.bulk
    location_id = site.location_id
    with tool_errors():
        try:
            source = _source(contact_ids, tag, csv_path)
            spec = CampaignSpec(
                location_id=location_id,
                template=template,
                attachments=media_urls,
                from_number=from_number,
                transactional=transactional,
                caps=Caps(per_minute=per_minute),
            )
            campaign_id = _campaign_id(
                location_id,
                campaign_key,
                [template, contact_ids, tag, csv_path, from_number, transactional, per_minute]
                + ([list(media_urls)] if media_urls else []),  # ids made before media stay
            )  # fmt: skip
            existing = engine.store.get_campaign(campaign_id)
            if existing is not None and existing.state not in (
                CampaignState.DRAFT,
                CampaignState.IMPORTING,
            ):
                return PlannedBulk(site, campaign_id, None, dry_run)

            imported = [0]
            campaign = await engine.create(
                spec, source, campaign_id=campaign_id, on_import=imported.append
            )
            if imported[-1]:
                await ctx.report_progress(imported[-1], None, f"{imported[-1]} recipients read")
            # The counts the user approves are those after the preflight (DND, unknown
            # contacts): every contact is read, unless the list is too long to wait for.
            check = campaign.total <= CHECK_CONTACTS_UP_TO
            preview = await engine.preview(campaign.id, check_contacts=check)
        except ValueError as exc:  # a bad template or source
            raise UsageError(str(exc)) from None
    return PlannedBulk(site, campaign.id, preview, dry_run)


def confirmation_text(preview: Preview, template: str, sub_account: str) -> str:
    skipped = sum(r.count for r in preview.skipped)
    reasons = ", ".join(f"{r.count} {r.code}" for r in preview.skipped)
    samples = "\n".join(f"  to {s.to or s.contact_id}: {s.text}" for s in preview.samples if s.text)
    recipients = "recipient" if preview.total == 1 else "recipients"
    lines = [
        f"Send this campaign to {preview.would_send} of {preview.total} {recipients}?",
        f'Template: "{template}"',
        f"{preview.messages_parts} billed parts, about ${preview.cost_estimate_usd:.2f}; "
        f"about {preview.duration_estimate_seconds / 60:.0f} min at GHL's rate.",
        f"Sub-account: {sub_account}.",
    ]
    if skipped:
        lines.append(f"Skipped: {skipped} ({reasons}).")
    if preview.deferred_quiet_hours:
        lines.append(f"{preview.deferred_quiet_hours} wait for their quiet hours to end.")
    if samples:
        lines.append("Samples:\n" + samples)
    lines.extend(preview.warnings)
    return "\n".join(lines)


async def confirm_bulk(
    planned: Annotated[PlannedBulk, Resolve(plan_bulk)],
    template: str,
    confirmed: bool,
    ctx: Context[AppState, Any],
    media_urls: tuple[str, ...] = (),
) -> Confirm | Elicit[Confirm]:
    state = ctx.request_context.lifespan_context
    preview = planned.preview
    if preview is None or planned.dry_run or not state.confirm or preview.would_send == 0:
        return Confirm(send=True)  # nothing to confirm, or confirmation is off
    question = confirmation_text(preview, template, await planned.site.describe())
    if media_urls:
        question += "\nAttached to each (MMS): " + ", ".join(media_urls)
    return ask_approval(
        ctx,
        question,
        confirmed=confirmed,
        not_yet="Not started yet",
        call_again="sms_bulk_send again with the same arguments",
    )


QUEUED_SUMMARY = (
    "Started: queued in the shared database for the ghl-sms workers, which send it paced "
    "under the location's budget (if none runs, start one with `ghl-sms worker`). "
    "sms_campaign(action='status', campaign_id=...) follows it; sms_cancel(campaign_id=...) "
    "stops it."
)


def bulk_result(
    engine: BulkEngine,
    campaign_id: str,
    outcome: Literal["dry_run", "started", "already_started", "nothing_to_send"],
    preview: Preview | None,
) -> BulkOut:
    summaries = {
        "dry_run": "Dry run: nothing was sent. Call again without dry_run to start it.",
        "started": "Started; it sends in the background. sms_campaign(action='status', "
        "campaign_id=...) follows it; sms_cancel(campaign_id=...) stops it.",
        "already_started": "An earlier identical call started this campaign already; nothing "
        "new was started. sms_campaign(action='status', campaign_id=...) follows it.",
        "nothing_to_send": "Every recipient was skipped (see skipped); nothing was sent.",
    }
    summary = summaries[outcome]
    if outcome == "started" and engine.jobs is not None:
        summary = QUEUED_SUMMARY
    status = engine.status(campaign_id)
    return BulkOut(
        campaign_id=campaign_id,
        outcome=outcome,
        summary=summary,
        recipients=status.campaign.total,
        will_send=preview.would_send if preview else None,
        skipped={r.code: r.count for r in preview.skipped} if preview else None,
        parts=preview.messages_parts if preview else None,
        cost_usd=round(preview.cost_estimate_usd, 2) if preview else None,
        samples=[s.text for s in preview.samples if s.text] if preview else None,
    )


def status_result(engine: BulkEngine, campaign_id: str) -> BulkStatusOut:
    status = engine.status(campaign_id)
    campaign = status.campaign
    waiting = (
        f"{campaign.waiting_reason} until {campaign.waiting_until:%Y-%m-%d %H:%M} UTC"
        if campaign.waiting_reason and campaign.waiting_until
        else campaign.waiting_reason or campaign.state_reason
    )
    return BulkStatusOut(
        campaign_id=campaign.id,
        state=str(campaign.state),
        recipients=campaign.total,
        sent=status.counts.get("sent", 0),
        skipped=status.counts.get("skipped", 0),
        failed=status.counts.get("failed", 0),
        left=sum(status.counts.get(s, 0) for s in ("pending", "sending", "deferred"))
        + status.interrupted,
        per_minute=status.rate_per_minute,
        eta_minutes=round(status.eta_seconds / 60, 1) if status.eta_seconds else None,
        waiting=waiting,
        reasons={f"{r.state}:{r.code}": r.count for r in status.reasons} or None,
    )
