"""The everyday commands: send, cancel, status, thread, inbox, check, numbers."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from ghl_sms._clock import utc_datetime
from ghl_sms._settings import Settings
from ghl_sms.cli._app import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    AppContext,
    CommandError,
    common_options,
    emit_json,
    run_async,
    to_jsonable,
)
from ghl_sms.cli._errors import blocked_error
from ghl_sms.cli._inputs import non_empty_id, one_source, refuse_unused, text_or_file
from ghl_sms.cli._render import (
    console,
    render_cancel,
    render_check,
    render_inbound,
    render_inbox,
    render_numbers,
    render_scheduled,
    render_send,
    render_status,
    render_thread,
)
from ghl_sms.ghl import NotFoundError
from ghl_sms.ops._when import parse_when
from ghl_sms.ops.errors import PreflightBlocked
from ghl_sms.ops.models import MessageStatus
from ghl_sms.ops.service import SendRequest, SmsService
from ghl_sms.webhooks.poller import InboxPoller

__all__ = ["cancel", "check", "inbox", "numbers", "send", "status", "thread"]


T = TypeVar("T")


def show(value: T, render: Callable[[Console, T], None], *, as_json: bool) -> None:
    """A command's result: JSON for scripts, or the human rendering."""
    if as_json:
        emit_json(value)
    else:
        render(console(), value)


def _recipient_options(fn: Any) -> Any:
    fn = click.option("--conversation", "conversation_id", help="An existing conversation id.")(fn)
    fn = click.option("--contact", "contact_id", help="A GHL contact id.")(fn)
    fn = click.option("--to", "to", help="A phone number (E.164 such as +15551234567).")(fn)
    return fn


@click.command()
@click.argument("text", required=False)
@_recipient_options
@click.option("--media", "attachments", multiple=True, help="Public media URL (MMS); repeatable.")
@click.option("--from", "from_number", help="Sending number (default: the location's default).")
@click.option("--at", "at", help="Schedule: 2h, 30m, 1d2h, or 2026-12-01T09:30:00-05:00.")
@click.option("--key", "idempotency_key", help="Idempotency key: a repeat with it sends nothing.")
@click.option("--allow-repeat", is_flag=True, help="Send even if the same text just went out.")
@click.option("--transactional", is_flag=True, help="Not marketing: quiet hours don't apply.")
@click.option(
    "--ignore-quiet-hours", is_flag=True,
    help="Send a marketing text in the recipient's quiet hours anyway, on purpose.",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing.")
@click.option(
    "--file", "text_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Read the text from a UTF-8 file (- reads standard input).",
)  # fmt: skip
@common_options
def send(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    text: str | None,
    text_file: Path | None,
    to: str | None,
    contact_id: str | None,
    conversation_id: str | None,
    attachments: tuple[str, ...],
    from_number: str | None,
    at: str | None,
    idempotency_key: str | None,
    allow_repeat: bool,
    transactional: bool,
    ignore_quiet_hours: bool,
    dry_run: bool,
) -> None:
    """Send an SMS, or an MMS with --media, now or later (--at).

    TEXT is the message; - reads it from standard input (or use --file PATH).

    The preflight runs first: a contact with DND, an opted-out or invalid number, or a
    bad attachment is refused (exit 3); so is a marketing text in the recipient's quiet
    hours, with the next allowed time (schedule it then with --at, mark it
    --transactional if it is not marketing, or --ignore-quiet-hours on purpose). Every
    send is recorded in the local ledger first, so running the same command again never
    texts twice.

    \b
    Examples:
      ghl-sms send --to +15551234567 "Your table is ready"
      ghl-sms send --contact ve9EPM428h8vShlRW1KT --media https://x.co/menu.jpg "Menu"
      ghl-sms send --to +15551234567 --at 2h "Reminder: 3pm today"
      echo "Your order shipped" | ghl-sms send --to +15551234567 -
      ghl-sms send --sandbox --to +14155550100 "Hello from the sandbox" --dry-run
    """
    one_source("a send", to=to, contact=contact_id, conversation=conversation_id)
    body = text_or_file(text, text_file, what="text", allow_blank=True)
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv arrive as lone surrogates
        raise CommandError(
            "The text is not valid UTF-8.",
            EXIT_USAGE,
            hint="Set a UTF-8 locale in the terminal, or put the text in a file and use --file.",
        ) from None
    if not (to or contact_id or conversation_id):
        raise CommandError(
            "Say who to text: --to PHONE, --contact ID or --conversation ID.", EXIT_USAGE
        )

    when = None
    if at is not None:
        try:
            when = parse_when(at, utc_datetime(app.clock))
        except ValueError as exc:
            raise CommandError(f"--at {exc}", EXIT_USAGE) from None

    async def main() -> None:
        async with app.service(settings) as service:
            request = SendRequest(
                text=body,
                to=to,
                contact_id=contact_id,
                conversation_id=conversation_id,
                attachments=attachments,
                from_number=from_number,
                scheduled_at=when,
                idempotency_key=idempotency_key,
                allow_repeat=allow_repeat,
                transactional=transactional,
                ignore_quiet_hours=ignore_quiet_hours,
                dry_run=dry_run,
            )
            try:
                result = await service.send(request)
            except PreflightBlocked as blocked:
                raise blocked_error(blocked) from None
            show(result, render_send, as_json=as_json)

    run_async(main)


@click.command()
@click.argument("message_id", required=False)
@common_options
def cancel(*, app: AppContext, settings: Settings, as_json: bool, message_id: str | None) -> None:
    """Cancel a scheduled message; with no id, list the scheduled ones.

    \b
    Examples:
      ghl-sms cancel                  # what is scheduled (from the local ledger)
      ghl-sms cancel t22c6DQcTDf3MjRhwf77
    """

    non_empty_id(message_id, "message id", "`ghl-sms cancel` (no id)")

    async def main() -> None:
        async with app.service(settings) as service:
            if message_id is None:
                records = service.scheduled()
                if as_json:
                    emit_json([
                        {"message_id": r.message_id, "contact_id": r.contact_id,
                         "to": r.to_number, "scheduled_at": r.scheduled_at, "text": r.text}
                        for r in records
                    ])  # fmt: skip
                else:
                    render_scheduled(console(), records)
                return
            try:
                result = await service.cancel(message_id)
            except NotFoundError:
                raise CommandError(
                    f"Message {message_id} is not scheduled (already sent, already cancelled, "
                    "or a wrong id); nothing changed.",
                    EXIT_FAILED,
                    hint=f"`ghl-sms status {shlex.quote(message_id)}` shows its state; "
                    "`ghl-sms cancel` "
                    "lists the scheduled messages.",
                    name="not_scheduled",
                ) from None
            show(result, render_cancel, as_json=as_json)

    run_async(main)


@click.command()
@click.argument("message_id")
@click.option("--watch", is_flag=True, help="Follow the message until its status is final.")
@click.option("--refresh", is_flag=True, help="Ask GHL even if a final status is known.")
@click.option(
    "--interval", default=2.0, show_default=True, type=click.FloatRange(0.5, 600),
    help="First wait between checks with --watch (it grows to 30 s).",
)  # fmt: skip
@click.option("--max-polls", type=click.IntRange(1), hidden=True)
@common_options
def status(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    message_id: str,
    watch: bool,
    refresh: bool,
    interval: float,
    max_polls: int | None,
) -> None:
    """A message's delivery status, with a failure explained and what to do.

    A final status already received by `ghl-sms webhooks` (or `inbox --watch`) is shown
    without asking GHL again. Exits 1 when the message failed or was undelivered.

    \b
    Examples:
      ghl-sms status t22c6DQcTDf3MjRhwf77
      ghl-sms status --watch t22c6DQcTDf3MjRhwf77
    """

    non_empty_id(message_id, "message id", "`ghl-sms thread`")
    if not watch:
        refuse_unused("--watch", "without", "interval", "max_polls")

    async def main() -> None:
        async with app.service(settings) as service:
            result = await service.status(message_id, refresh=refresh or watch)
            show_status(service, result)
            wait, polls = interval, 1
            while watch and not result.final and (max_polls is None or polls < max_polls):
                await app.clock.sleep(wait)
                wait, polls = min(wait * 1.5, 30.0), polls + 1
                latest = await service.status(message_id, refresh=True)
                if latest.status != result.status:
                    show_status(service, latest)
                result = latest
            if result.status in ("failed", "undelivered"):
                raise click.exceptions.Exit(EXIT_FAILED)

    def show_status(service: SmsService, result: MessageStatus) -> None:
        # When a scheduled message goes out: GHL's answer omits it; the ledger has it.
        record = service.ledger.by_message_id(message_id)
        goes_out = None
        if result.status == "scheduled" and record is not None and record.scheduled_at:
            goes_out = datetime.fromtimestamp(record.scheduled_at, UTC)
        data = {**to_jsonable(result), "scheduled_at": to_jsonable(goes_out)}
        if as_json and watch:
            click.echo(json.dumps(data, ensure_ascii=False))  # one line per change
        elif as_json:
            emit_json(data)
        else:
            render_status(console(), result, scheduled_at=goes_out)

    run_async(main)


@click.command()
@_recipient_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--cursor", help="Page to older messages (printed after a page).")
@common_options
def thread(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    to: str | None,
    contact_id: str | None,
    conversation_id: str | None,
    limit: int,
    cursor: str | None,
) -> None:
    """A contact's conversation, newest message last.

    \b
    Examples:
      ghl-sms thread --to +15551234567
      ghl-sms thread --contact ve9EPM428h8vShlRW1KT --limit 50
    """

    one_source("thread", to=to, contact=contact_id, conversation=conversation_id)
    non_empty_id(conversation_id, "conversation id", "`ghl-sms inbox`")

    async def main() -> None:
        async with app.service(settings) as service:
            page = await service.thread(
                contact_id=contact_id,
                to=to,
                conversation_id=conversation_id,
                limit=limit,
                cursor=cursor,
            )
            show(page, render_thread, as_json=as_json)

    run_async(main)


@click.command()
@click.option("--unread", "unread_only", is_flag=True, help="Only conversations with unread.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--cursor", help="Page on (printed after a page).")
@click.option(
    "--watch", is_flag=True,
    help="Keep polling and print replies and status changes as they arrive (Ctrl-C stops).",
)  # fmt: skip
@click.option(
    "--interval", default=10.0, show_default=True, type=click.FloatRange(1, 3600),
    help="Seconds between polls with --watch.",
)  # fmt: skip
@click.option("--max-polls", type=click.IntRange(1), hidden=True)
@common_options
def inbox(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    unread_only: bool,
    limit: int,
    cursor: str | None,
    watch: bool,
    interval: float,
    max_polls: int | None,
) -> None:
    """Recent conversations with their unread counts, most recent first.

    With --watch it keeps polling GHL (within its rate limits) for new replies and
    delivery statuses, and records them in the ledger exactly as the webhook receiver
    would: a STOP reply blocks the next send at once. Use it when no webhooks are set up.

    \b
    Examples:
      ghl-sms inbox
      ghl-sms inbox --unread --json
      ghl-sms inbox --watch
    """

    if watch:
        refuse_unused("--watch", "with", "unread_only", "limit", "cursor")
    else:
        refuse_unused("--watch", "without", "interval", "max_polls")
    if cursor is not None and not cursor.strip().isdigit():
        raise CommandError(
            f"--cursor {cursor!r} is not a cursor of this command.",
            EXIT_USAGE,
            hint="Use the value printed after 'More: --cursor' (or next_cursor in --json).",
        )

    async def main() -> None:
        async with app.service(settings) as service:
            if not watch:
                page = await service.inbox(unread_only=unread_only, limit=limit, cursor=cursor)
                show(page, render_inbox, as_json=as_json)
                return
            out = console()
            poller = InboxPoller(service.client, service.ledger, service.events, clock=app.clock)
            if not as_json:
                out.print(f"Watching for replies every {interval:g} s (Ctrl-C stops).")
            polls = 0
            while max_polls is None or polls < max_polls:
                if polls:
                    await app.clock.sleep(interval)
                polls += 1
                inbound, statuses = await poller.poll_once()
                for seen in inbound:
                    if as_json:
                        click.echo(json.dumps({"event": "inbound", **to_jsonable(asdict(seen))}))
                    else:
                        render_inbound(out, seen)
                for change in statuses:
                    if as_json:
                        click.echo(json.dumps({"event": "status", **to_jsonable(asdict(change))}))
                    else:
                        out.print(f"status {change.message_id}: {change.status}"
                                  + (f" (error {change.error_code})" if change.error_code
                                     else ""))  # fmt: skip

    try:
        run_async(main)
    except KeyboardInterrupt:
        if not watch:
            raise
        # Ctrl-C is how a watch ends: no error to report, but the exit code says so.
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.command()
@click.option("--to", "to", help="A phone number.")
@click.option("--contact", "contact_id", help="A GHL contact id.")
@click.option("--text", help="Also check this text (segments, encoding, length).")
@click.option("--media", "attachments", multiple=True, help="Media URL to check; repeatable.")
@click.option("--from", "from_number", help="Sending number to check against.")
@click.option("--transactional", is_flag=True, help="Not marketing: quiet hours don't apply.")
@common_options
def check(
    *,
    app: AppContext,
    settings: Settings,
    as_json: bool,
    to: str | None,
    contact_id: str | None,
    text: str | None,
    attachments: tuple[str, ...],
    from_number: str | None,
    transactional: bool,
) -> None:
    """Could this contact or number be texted now? Sends and creates nothing.

    Exits 3 when a send would be blocked.

    \b
    Examples:
      ghl-sms check --to +15551234567
      ghl-sms check --contact ve9EPM428h8vShlRW1KT --text "Sale ends today!"
    """
    one_source("check", to=to, contact=contact_id)
    if not (to or contact_id):
        raise CommandError("Say who to check: --to PHONE or --contact ID.", EXIT_USAGE)

    async def main() -> None:
        async with app.service(settings) as service:
            result = await service.check(
                contact_id=contact_id,
                to=to,
                text=text,
                attachments=attachments,
                from_number=from_number,
                transactional=transactional,
            )
            show(result, render_check, as_json=as_json)
            if result.verdict == "blocked":
                raise click.exceptions.Exit(EXIT_BLOCKED)

    run_async(main)


@click.command()
@common_options
def numbers(*, app: AppContext, settings: Settings, as_json: bool) -> None:
    """The location's sending numbers: SMS/MMS capability and the default.

    \b
    Example:
      ghl-sms numbers --json
    """

    async def main() -> None:
        async with app.service(settings) as service:
            found = await service.numbers()
            show(found, render_numbers, as_json=as_json)

    run_async(main)
