"""``ghl-sms optouts list|add|remove|audit``: who must not be texted, kept in the ledger.

Ledger-only unless --sync: no token needed, only the location id (or --sandbox, whose
location is fixed; the sandbox itself is opened only for --sync).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_USAGE,
    AppContext,
    CommandError,
    common_options,
    emit_json,
    run_async,
)
from ghl_sms.cli._local import local_ledger, local_location, who_ran
from ghl_sms.ghl import GhlError
from ghl_sms.ops.optouts import (
    AddOutcome,
    DndSync,
    OptOutBook,
    OptOutRemovalRefused,
    RemoveOutcome,
    find_dnd,
    normalise_phone,
    refuse_permanent_dnd,
    sync_dnd,
)

__all__ = ["optouts"]

_SYNC_HELP = "Also set (add) or clear (remove) SMS DND on the number's contact in GHL."


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True, emoji=False)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _refused(error: OptOutRemovalRefused) -> CommandError:
    return CommandError(
        str(error),
        EXIT_BLOCKED,
        hint="Texts to them stay blocked. If they want texts again, ask them to text START "
        "to your number; the webhook receiver or `inbox --watch` then lifts the opt-out.",
        name="opt_out_stands",
    )


@click.group("optouts")
def optouts() -> None:
    """Local opt-outs: who this location must not text, and why.

    Sources: STOP reply, carrier 21610 (unsubscribed), SMS DND set in GHL, and manual
    (added here, e.g. a customer who phoned in). A send to an opted-out number or
    contact is refused (exit 3).

    A STOP always wins: an opt-out from a STOP reply or the carrier is never removed by
    hand; only the contact texting START lifts it. There is no --force.
    """


@optouts.command("list")
@click.option("--all", "include_lifted", is_flag=True, help="Include opt-outs lifted since.")
@common_options
def list_cmd(*, app: AppContext, settings: Settings, as_json: bool, include_lifted: bool) -> None:
    """The location's opt-outs, newest first, with their source and since when.

    \b
    Examples:
      ghl-sms optouts list
      ghl-sms optouts list --sandbox --json
    """
    location = local_location(settings)
    with local_ledger(app, settings, create=False) as ledger:
        entries = OptOutBook(ledger, app.clock).opt_outs(location, include_lifted=include_lifted)
    if as_json:
        emit_json(entries)
        return
    out = _console()
    if not entries:
        out.print("No opt-outs recorded for this location.")
        return
    table = Table()
    table.add_column("phone", no_wrap=True)
    table.add_column("contact id", no_wrap=True)
    table.add_column("source")
    table.add_column("since", no_wrap=True)
    table.add_column("detail")
    if include_lifted:
        table.add_column("lifted", no_wrap=True)
    for entry in entries:
        row = [
            entry.phone or "-",
            entry.contact_id or "-",
            entry.source_label,
            _when(entry.created_at),
            escape(entry.detail or ""),
        ]
        if include_lifted:
            row.append(_when(entry.lifted_at) if entry.lifted_at else "")
        table.add_row(*row)
    out.print(table)
    active = sum(1 for e in entries if e.lifted_at is None)
    out.print(f"{active:,} active opt-out{'' if active == 1 else 's'}.")


@optouts.command("add")
@click.argument("phone")
@click.option("--reason", help="Why (e.g. 'asked by phone'); kept with who added it and when.")
@click.option("--sync", "sync", is_flag=True, help=_SYNC_HELP)
@common_options
def add_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    phone: str,
    reason: str | None,
    sync: bool,
) -> None:
    """Record that PHONE must not be texted (a customer who asked by phone or email).

    Recorded here first, so ghl-sms refuses texts to the number at once; with --sync, SMS
    DND is also set on its contact in GHL, so GHL's own workflows and staff stop too (an
    opt-out received on another channel must be written back as SMS DND).

    \b
    Examples:
      ghl-sms optouts add +15551234567 --reason "asked by phone" --sync
      ghl-sms optouts add --sandbox +14155550100
    """
    location = local_location(settings)
    e164 = normalise_phone(phone, settings.default_region)
    with local_ledger(app, settings, create=True) as ledger:
        book = OptOutBook(ledger, app.clock)
        outcome = book.add(location, e164, reason=reason, actor=who_ran(app))
        synced = (
            _sync(app, settings, book, outcome.audit_id, e164, opted_out=True) if sync else None
        )
    if as_json:
        emit_json({**outcome.model_dump(mode="json"), "sync": _dump(synced)})
        return
    _show_add(_console(), outcome, synced)


@optouts.command("remove")
@click.argument("phone")
@click.option("--reason", help="Required: why texting them is allowed again; it is kept.")
@click.option("--sync", "sync", is_flag=True, help=_SYNC_HELP)
@common_options
def remove_cmd(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    phone: str,
    reason: str | None,
    sync: bool,
) -> None:
    """Lift PHONE's opt-out on purpose (one added by mistake, or by a GHL DND since cleared).

    --reason is required and is kept with who removed it and when (`optouts audit`).
    An opt-out the contact made themselves (a STOP reply, or the carrier's 21610) is
    refused (exit 3): only their START lifts it. With --sync, SMS DND is cleared on the
    contact in GHL too, unless GHL holds it as permanent (a STOP), which is refused.

    \b
    Examples:
      ghl-sms optouts remove +15551234567 --reason "added to the wrong number"
      ghl-sms optouts remove +15551234567 --reason "customer asked by email" --sync
    """
    if not (reason or "").strip():
        raise CommandError(
            "Removing an opt-out needs a reason; it is kept with who removed it and when.",
            EXIT_USAGE,
            hint=f'Run it again with --reason "...", e.g. ghl-sms optouts remove {phone} '
            '--reason "added by mistake".',
        )
    assert reason is not None
    location = local_location(settings)
    e164 = normalise_phone(phone, settings.default_region)
    with local_ledger(app, settings, create=True) as ledger:
        book = OptOutBook(ledger, app.clock)
        try:
            book.check_removable(location, e164)
            if not sync:
                outcome = book.remove(location, e164, reason=reason, actor=who_ran(app))
                synced = None
            else:
                outcome, synced = run_async(
                    lambda: _remove_synced(app, settings, book, location, e164, reason)
                )
        except OptOutRemovalRefused as exc:
            raise _refused(exc) from None
    if as_json:
        emit_json({**outcome.model_dump(mode="json"), "sync": _dump(synced)})
        return
    _show_remove(_console(), outcome, synced)


@optouts.command("audit")
@click.argument("phone", required=False)
@common_options
def audit_cmd(*, app: AppContext, settings: Settings, as_json: bool, phone: str | None) -> None:
    """Who added or removed opt-outs by hand, when and why (newest first)."""
    location = local_location(settings)
    e164 = normalise_phone(phone, settings.default_region) if phone is not None else None
    with local_ledger(app, settings, create=False) as ledger:
        entries = OptOutBook(ledger, app.clock).audit(location, phone=e164)
    if as_json:
        emit_json(entries)
        return
    out = _console()
    if not entries:
        out.print("No opt-out was added or removed by hand here.")
        return
    for a in entries:
        why = f": {escape(a.reason)}" if a.reason else ""
        ghl = f" (GHL DND: {a.sync})" if a.sync else ""
        out.print(f"{_when(a.at)}  {a.action} {a.phone or a.contact_id} by {a.actor}{why}{ghl}")


# --- GHL's DND ----------------------------------------------------------------------------


def _dump(synced: DndSync | None) -> dict[str, Any] | None:
    return synced.model_dump(mode="json") if synced is not None else None


def _sync(
    app: AppContext,
    settings: Settings,
    book: OptOutBook,
    audit_id: int | None,
    e164: str,
    *,
    opted_out: bool,
) -> DndSync:
    """Make GHL's SMS DND match, after the local change is recorded."""

    async def main() -> DndSync:
        async with app.client(settings) as client:
            contact, current = await find_dnd(client, e164)
            return await sync_dnd(client, contact, current, opted_out=opted_out)

    try:
        synced = run_async(main)
    except CommandError as exc:
        if audit_id is not None:
            book.record_sync(audit_id, "failed")
        raise CommandError(
            f"The opt-out is recorded here (ghl-sms will not text {e164}), but GHL's SMS DND "
            f"could not be set: {exc.message}",
            exc.exit_code,
            hint="Run the same command again to set it in GHL; it changes nothing here twice.",
            name=exc.name,
        ) from None
    if audit_id is not None:
        book.record_sync(audit_id, synced.result, contact_id=synced.contact_id)
    return synced


async def _remove_synced(
    app: AppContext,
    settings: Settings,
    book: OptOutBook,
    location: str,
    e164: str,
    reason: str,
) -> tuple[RemoveOutcome, DndSync]:
    """Look in GHL first (a permanent DND refuses it all), lift here, then clear GHL's."""
    async with app.client(settings) as client:
        contact, current = await find_dnd(client, e164)
        try:
            refuse_permanent_dnd(contact, current)
        except OptOutRemovalRefused as exc:
            raise _refused(exc) from None
        outcome = book.remove(
            location,
            e164,
            reason=reason,
            actor=who_ran(app),
            contact_id=contact.id if contact else None,
        )
        try:
            synced = await sync_dnd(client, contact, current, opted_out=False)
        except GhlError as exc:
            assert outcome.audit_id is not None
            book.record_sync(outcome.audit_id, "failed")
            raise CommandError(
                f"The opt-out is removed here, but GHL's SMS DND could not be cleared: {exc}",
                EXIT_FAILED,
                hint="Clear it on the contact in GHL, or run `optouts remove` again with --sync.",
            ) from None
        assert outcome.audit_id is not None
        book.record_sync(outcome.audit_id, synced.result, contact_id=synced.contact_id)
        return outcome, synced


# --- output -------------------------------------------------------------------------------


def _show_sync(out: Console, synced: DndSync | None, *, opted_out: bool) -> None:
    if synced is None:
        if opted_out:
            out.print(
                "GHL was not changed: add --sync to set SMS DND on the contact too, so "
                "GHL's workflows and staff don't text them either."
            )
        return
    who = f"{escape(synced.contact_name or '')} ({synced.contact_id})"
    lines = {
        "set": f"GHL: SMS DND set on {who}.",
        "cleared": f"GHL: SMS DND cleared on {who}.",
        "already": f"GHL: SMS DND on {who} was already {'on' if opted_out else 'off'}.",
        "no_contact": "GHL: no contact has this number; nothing to change there.",
    }
    out.print(lines.get(synced.result, f"GHL: {synced.result}."))
    if synced.global_dnd and not opted_out:
        out.print(
            "  GHL's global DND is still on for them and blocks SMS too; clear it in GHL if "
            "that is intended."
        )


def _show_add(out: Console, outcome: AddOutcome, synced: DndSync | None) -> None:
    entry = outcome.opt_out
    if outcome.added:
        why = f" ({escape(entry.detail)})" if entry.detail else ""
        out.print(f"Opted out {outcome.phone}{why}: ghl-sms will not text this number.")
    else:
        said = f" {escape(entry.detail)!r}" if entry.detail else ""
        out.print(
            f"{outcome.phone} was already opted out ({entry.source_label}{said}, since "
            f"{_when(entry.created_at)}). Nothing changed here."
        )
    _show_sync(out, synced, opted_out=True)


def _show_remove(out: Console, outcome: RemoveOutcome, synced: DndSync | None) -> None:
    if not outcome.lifted:
        out.print(f"No opt-out of {outcome.phone} here; nothing removed (the reason is kept).")
    else:
        sources = ", ".join(e.source_label for e in outcome.lifted)
        out.print(
            f"Removed the opt-out of {outcome.phone} ({sources}): ghl-sms may text this "
            "number again."
        )
        if synced is None and any(e.source == "webhook_dnd" for e in outcome.lifted):
            out.print(
                "GHL itself still holds SMS DND on the contact and refuses texts: add --sync "
                "to clear it there too."
            )
    _show_sync(out, synced, opted_out=False)
