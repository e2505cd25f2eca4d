"""Human output: tables and short lines. JSON output lives in the commands (--json)."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ghl_sms.ops.ledger import SendRecord
from ghl_sms.ops.models import (
    CancelOutcome,
    CheckResult,
    InboxPage,
    MessageStatus,
    Note,
    SenderNumber,
    SendOutcome,
    ThreadPage,
)
from ghl_sms.webhooks.poller import InboundSeen

__all__ = [
    "console",
    "plural",
    "render_cancel",
    "render_check",
    "render_inbound",
    "render_inbox",
    "render_numbers",
    "render_scheduled",
    "render_send",
    "render_status",
    "render_thread",
]

_MARK = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "blocked": "[red]blocked[/]"}


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def plural(count: int, word: str) -> str:
    """``1 part``, ``2 parts``, ``10,050 recipients``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _notes(out: Console, notes: list[Note]) -> None:
    for note in notes:
        colour = "red" if note.level == "blocked" else "yellow"
        out.print(f"  [{colour}]{note.level}[/] {note.code}: {escape(note.message)}")


def render_send(out: Console, result: SendOutcome) -> None:
    # The number comes from the outcome: the one actually texted, whatever was asked.
    who = escape(result.contact_name or result.to or result.contact_id or "?")
    if result.to and result.to != who:
        who = f"{who} ({result.to})"
    parts = f"{plural(result.segments, 'part')} {result.encoding}"
    cost = f", ~${result.cost_estimate_usd:.4f}" if result.cost_estimate_usd is not None else ""
    if result.outcome == "dry_run":
        action = (
            f"would schedule {result.type} for {_when(result.scheduled_at)}"
            if result.scheduled_at
            else f"would send {result.type} now"
        )
        out.print(
            f"Dry run: {action} to {who} from "
            f"{result.from_number or 'the default number'}: {parts}{cost}. Nothing sent."
        )
        if result.segments_with_footer and result.segments_with_footer != result.segments:
            out.print(f"  With GHL's first-message footer: {result.segments_with_footer} parts.")
    elif result.outcome == "duplicate":
        out.print(
            f"Already sent earlier: message {result.message_id} to {who} "
            f"(status {result.status}). Nothing sent again."
        )
    elif result.outcome == "scheduled":
        out.print(
            f"Scheduled {result.type} {result.message_id} to {who} for "
            f"{_when(result.scheduled_at)} ({parts}{cost})."
        )
    else:
        adopted = " (found in GHL after a lost answer)" if result.adopted else ""
        out.print(
            f"Sent {result.type} {result.message_id} to {who}: {parts}"
            f"{cost}, status {result.status}{adopted}."
        )
    _notes(out, result.notes)


def render_cancel(out: Console, result: CancelOutcome) -> None:
    out.print(f"Cancelled scheduled message {result.message_id}.")


def render_scheduled(out: Console, records: list[SendRecord]) -> None:
    if not records:
        out.print("No scheduled messages in the ledger.")
        return
    table = Table()
    table.add_column("message id", no_wrap=True)
    table.add_column("to", no_wrap=True)
    table.add_column("when")
    table.add_column("text")
    for record in records:
        when = datetime.fromtimestamp(record.scheduled_at or 0).astimezone()
        table.add_row(
            record.message_id or "(in flight)",
            record.to_number or record.contact_id or "-",
            when.strftime("%Y-%m-%d %H:%M %Z"),
            record.text[:40],
        )
    out.print(table)
    out.print("Cancel one with: ghl-sms cancel MESSAGE_ID")


def render_status(
    out: Console, result: MessageStatus, *, scheduled_at: datetime | None = None
) -> None:
    colour = {"delivered": "green", "read": "green", "failed": "red", "undelivered": "red"}.get(
        result.status or "", "yellow"
    )
    source = "" if result.known_from == "ghl" else f"; known from the {result.known_from}"
    out.print(
        f"Message {result.message_id}: [{colour}]{result.status}[/]"
        f" ({result.direction or '-'}, {_when(result.date_added)}{source})"
    )
    if scheduled_at is not None:
        out.print(
            f"  Goes out {_when(scheduled_at)}; `ghl-sms cancel {result.message_id}` stops it."
        )
    if result.explanation:
        out.print(f"  {result.explanation}")
    if result.advice:
        out.print(f"  What to do: {result.advice}")


def render_thread(out: Console, page: ThreadPage) -> None:
    who = escape(page.contact_name or page.contact_id or "?")
    unread = f", {page.unread_count:,} unread" if page.unread_count else ""
    ids = f"conversation {page.conversation_id or '(none yet)'}, contact {page.contact_id or '-'}"
    out.print(f"Conversation with {who} ({page.phone or 'no phone'}){unread}")
    out.print(f"  {ids}")
    if not page.messages:
        out.print("  No messages yet.")
    # Each line starts with the message id: what `status` and `cancel` take.
    for m in page.messages:
        arrow = "<-" if m.direction == "inbound" else "->"
        media = f" \\[+{len(m.attachments)} media]" if m.attachments else ""
        status = "" if m.direction == "inbound" else f"  \\[{m.status}]"
        error = f" error {m.error_code}" if m.error_code else ""
        body = escape(m.body or "")
        out.print(f"  {m.id}  {_when(m.date_added)} {arrow} {body}{media}{status}{error}")
    if page.next_cursor:
        out.print(f"Older messages: --cursor {page.next_cursor}")
    if page.messages:
        out.print("Details of one: ghl-sms status MESSAGE_ID")


def render_inbox(out: Console, page: InboxPage) -> None:
    if not page.conversations:
        out.print("No conversations.")
        return
    table = Table()
    # Ids and numbers are copied into other commands: never wrapped.
    table.add_column("conversation id", no_wrap=True)
    table.add_column("contact")
    table.add_column("phone", no_wrap=True)
    for column in ("unread", "last message", "when"):
        table.add_column(column)
    for c in page.conversations:
        arrow = "<-" if c.last_message_direction == "inbound" else "->"
        unread = f"[bold]{c.unread_count:,}[/]" if c.unread_count else "0"
        table.add_row(
            c.id,
            escape(c.contact_name or c.contact_id or "-"),
            c.phone or "-",
            unread,
            f"{arrow} {(c.last_message or '')[:50]}",
            _when(c.last_message_at),
        )
    out.print(table)
    out.print("Open one: ghl-sms thread --conversation CONVERSATION_ID")
    if page.next_cursor:
        out.print(f"More: --cursor {page.next_cursor}")


def render_inbound(out: Console, seen: InboundSeen) -> None:
    who = seen.contact_name or seen.contact_id or "?"
    keyword = {"opt_out": "  [red](opted out: texts to them are blocked now)[/]",
               "opt_in": "  [green](opted back in)[/]"}.get(seen.keyword or "", "")  # fmt: skip
    out.print(f"{_when(seen.date_added)} <- {escape(who)} ({seen.phone or '-'}): "
              f"{escape(seen.body or '')}{keyword}")  # fmt: skip


def render_check(out: Console, result: CheckResult) -> None:
    who = result.contact_name or result.contact_id or result.to or "?"
    out.print(f"{who} ({result.to or 'no valid number'}): {_MARK[result.verdict]}")
    if result.segments is not None:
        out.print(f"  {plural(result.segments, 'part')}, {result.encoding}")
    _notes(out, result.notes)


def render_numbers(out: Console, numbers: list[SenderNumber]) -> None:
    if not numbers:
        out.print("No phone numbers on this location (is the phone system connected?).")
        return
    table = Table("number", "name", "SMS", "MMS", "default", "type")
    for n in numbers:
        table.add_row(
            n.phone_number,
            n.name or "-",
            "yes" if n.sms else "no",
            "yes" if n.mms else "no",
            "yes" if n.is_default else "",
            n.type or "-",
        )
    out.print(table)
