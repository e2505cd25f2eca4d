"""``sms_send``'s planning and confirmation, run by the SDK before the tool body.

``plan_send`` builds the request and, when the user must confirm or the caller asked
for a dry run, previews it with a dry run of the very same request (blocked sends fail
here, before anyone is asked). ``confirm_send`` then asks the user through elicitation,
or, for clients without it, refuses with the preview and asks for ``confirmed=true``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ghl_sms._clock import Clock, utc_datetime
from ghl_sms.mcp_server._errors import tool_errors
from ghl_sms.mcp_server._models import SendOut
from ghl_sms.mcp_server._state import AppState
from ghl_sms.ops._when import parse_when
from ghl_sms.ops.errors import UsageError

if TYPE_CHECKING:  # the ops layer is imported by the first send, not by tools/list
    from ghl_sms.mcp_server._locations import Site
    from ghl_sms.ops.models import SendOutcome
    from ghl_sms.ops.service import SendRequest, SmsService

__all__ = [
    "Confirm",
    "PlannedSend",
    "confirm_send",
    "one_recipient",
    "plan_send",
    "send_result",
    "site_of",
    "state_of",
]

# A repeat this close to the end of the repeat window is confirmed like a new send: by
# the time it goes out the window may have closed and it would be one.
_WINDOW_MARGIN = 60.0


class Confirm(BaseModel):
    """The elicitation form: one yes/no question under the preview."""

    send: bool = Field(description="Send this message?")


def ask_approval(
    ctx: Context[AppState, Any],
    question: str,
    *,
    confirmed: bool,
    not_yet: str,
    call_again: str,
    shown: str = "this preview",
) -> Confirm | Elicit[Confirm]:
    """The user's yes to ``question``: asked through the client when it can elicit; else
    the assistant must show them the question (``shown``) and call again (``call_again``)
    with ``confirmed=true``. ``not_yet`` says what has not happened (``Not sent yet``)."""
    caps = ctx.client_capabilities
    if caps is not None and caps.elicitation is not None:
        return Elicit(question, Confirm)
    if confirmed:
        return Confirm(send=True)
    raise ToolError(
        f"{not_yet}: the user must approve it first. Show them {shown}:\n"
        f"{question}\n"
        f"Once they approve, call {call_again} and confirmed=true."
    )


@dataclass(frozen=True)
class PlannedSend:
    site: Site
    """The sub-account it goes out from."""
    request: SendRequest
    preview: SendOutcome | None
    """The dry run of ``request``; None when neither a confirmation nor a dry run needs it."""
    repeat_of_sent: bool
    """The ledger already holds this send as sent: it will come back as a duplicate."""


def one_recipient(what: str, consequence: str = "", **given: str | None) -> None:
    """Exactly one of ``given`` (by argument name): with two, which one wins would be a
    guess, and a wrong guess texts or shows the wrong person. ``what`` ends the "say who"
    sentence ("to text"); ``consequence`` follows the refusal ("Nothing was sent.")."""
    names = list(given)
    named = [(name, value) for name, value in given.items() if value]
    choices = ", ".join(names[:-1]) + f" or {names[-1]}"
    tail = f" {consequence}" if consequence else ""
    if not named:
        raise UsageError(f"Say who {what}: {choices}.{tail}")
    if len(named) > 1:
        both = " and ".join(f"{name}={value!r}" for name, value in named)
        raise UsageError(
            f"Give one recipient, not {len(named)}: {both}. Call again with only the one "
            f"you mean ({choices}).{tail}"
        )


def state_of(ctx: Context[AppState, Any]) -> AppState:
    return ctx.request_context.lifespan_context


async def site_of(ctx: Context[AppState, Any], location: str | None) -> Site:
    """The sub-account a call's ``location`` names (None: the default), opened."""
    with tool_errors():
        return await state_of(ctx).locations.site(location)


def schedule_time(send_at: str, clock: Clock) -> datetime:
    """``send_at`` as an instant; a delay ("2h") is rounded up to the whole minute, so
    a repeated call within the minute is the same send (same derived idempotency key)."""
    now = utc_datetime(clock)
    try:
        when = parse_when(send_at, now)
        try:
            datetime.fromisoformat(send_at.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:  # a delay
            seconds = when.timestamp()
            when += timedelta(seconds=math.ceil(seconds / 60) * 60 - seconds)
    except ValueError as exc:
        raise UsageError(f"send_at: {exc}") from None
    except OverflowError:  # a delay past the year 9999
        raise UsageError(
            f"send_at: {send_at!r} is too far ahead. Use a duration such as 30m, 2h or 3d, or "
            "an ISO-8601 time with an offset such as 2026-12-01T09:30:00-05:00."
        ) from None
    return when


def _repeat_of_sent(service: SmsService, preview: SendOutcome, caller_key: bool) -> bool:
    """Mirrors the service's duplicate check, erring towards asking the user."""
    from ghl_sms.ops.ledger import SendState

    record = service.ledger.get(preview.idempotency_key or "")
    if record is None or record.state not in (SendState.SENT, SendState.CANCELLED):
        return False
    if caller_key:
        return True
    window = service.config.repeat_window - _WINDOW_MARGIN
    return record.created_at > service.clock.now() - window


async def plan_send(
    ctx: Context[AppState, Any],
    text: str,
    contact_id: str | None,
    to_number: str | None,
    conversation_id: str | None,
    media_urls: tuple[str, ...],
    send_at: str | None,
    from_number: str | None,
    transactional: bool,
    ignore_quiet_hours: bool,
    dry_run: bool,
    idempotency_key: str | None,
    allow_repeat: bool,
    location: str | None = None,
) -> PlannedSend:
    from ghl_sms.ops.service import SendRequest

    state = state_of(ctx)
    site = await site_of(ctx, location)
    service = site.service
    with tool_errors():
        one_recipient(
            "to text",
            "Nothing was sent.",
            contact_id=contact_id,
            to_number=to_number,
            conversation_id=conversation_id,
        )
        if allow_repeat and not idempotency_key:
            # Without a key of its own, a retried tool call would repeat the repeat.
            raise UsageError(
                "allow_repeat needs a new idempotency_key (any unique string), so that a "
                "retried call still texts only once."
            )
        request = SendRequest(
            text=text,
            contact_id=contact_id,
            to=to_number,
            conversation_id=conversation_id,
            attachments=media_urls,
            from_number=from_number,
            scheduled_at=schedule_time(send_at, service.clock) if send_at else None,
            idempotency_key=idempotency_key,
            allow_repeat=allow_repeat,
            transactional=transactional,
            ignore_quiet_hours=ignore_quiet_hours,
            dry_run=dry_run,
        )
        if not (dry_run or state.confirm):
            return PlannedSend(site, request, None, False)
        preview = await service.send(replace(request, dry_run=True))
    repeat = _repeat_of_sent(service, preview, caller_key=bool(idempotency_key))
    return PlannedSend(site, request, preview, repeat)


def confirmation_text(preview: SendOutcome, text: str, sub_account: str) -> str:
    who = preview.contact_name or "this number"
    number = f" ({preview.to})" if preview.to else ""
    sender = f" from {preview.from_number}" if preview.from_number else ""
    when = f" at {preview.scheduled_at:%Y-%m-%d %H:%M} UTC" if preview.scheduled_at else " now"
    parts = f"{preview.segments} part{'s' if preview.segments != 1 else ''}"
    cost = f", about ${preview.cost_estimate_usd:.4f}" if preview.cost_estimate_usd else ""
    lines = [
        f"Send this {preview.type} to {who}{number}{sender}{when}?",
        f'Text: "{text}"',
        f"{parts} ({preview.encoding}){cost}.",
        f"Sub-account: {sub_account}.",
    ]
    warnings = [n.message for n in preview.notes if n.level == "warn"]
    if warnings:
        lines.append("Warnings: " + " ".join(warnings))
    return "\n".join(lines)


async def confirm_send(
    planned: Annotated[PlannedSend, Resolve(plan_send)],
    confirmed: bool,
    ctx: Context[AppState, Any],
) -> Confirm | Elicit[Confirm]:
    preview = planned.preview
    if preview is None or planned.request.dry_run or planned.repeat_of_sent:
        return Confirm(send=True)  # nothing goes out, or confirmation is off
    question = confirmation_text(preview, planned.request.text, await planned.site.describe())
    return ask_approval(
        ctx,
        question,
        confirmed=confirmed,
        not_yet="Not sent yet",
        call_again="sms_send again with the same arguments",
    )


_SUMMARIES = {
    "sent": "Sent; GHL is delivering it. sms_status(message_id) follows it to delivered.",
    "scheduled": "Scheduled; sms_cancel(message_id) cancels it before it goes out.",
    "duplicate": "Already sent by an earlier identical call (same idempotency key): nothing "
    "was sent again. This is that earlier message. To send it again on purpose, use a new "
    "idempotency_key and allow_repeat=true.",
    "dry_run": "Dry run: nothing was sent. Call again without dry_run to send it.",
}


def send_result(outcome: SendOutcome) -> SendOut:
    warnings = [n.message for n in outcome.notes if n.level == "warn"]
    return SendOut(
        outcome=outcome.outcome,
        summary=_SUMMARIES[outcome.outcome],
        message_id=outcome.message_id,
        contact_id=outcome.contact_id,
        contact_name=outcome.contact_name,
        to_number=outcome.to,
        status=outcome.status,
        scheduled_at=outcome.scheduled_at,
        parts=outcome.segments,
        cost_usd=outcome.cost_estimate_usd,
        warnings=warnings or None,
    )
