"""The SMS operations for one location: what the CLI and the MCP server call.

Every send runs the preflight first (blocked means not sent), is recorded in the ledger
before it goes out, and, when GHL's answer is lost, is looked for in the contact's
conversation before anything is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from ghl_sms._clock import utc_datetime
from ghl_sms.ghl import (
    Contact,
    GhlError,
    Message,
    PhoneNumber,
    SendOutcomeUnknownError,
    TransportError,
)
from ghl_sms.ops._idempotency import refuse_conflict
from ghl_sms.ops._merge import add_reasons, merge_contact, single_send_template
from ghl_sms.ops._quiet import in_quiet_hours, refuse_in_quiet_hours, sent_in_quiet_hours
from ghl_sms.ops._recipient import number_texted, require_one_recipient
from ghl_sms.ops._reconcile import Reconciler
from ghl_sms.ops._service_base import FINAL_STATUSES, ServiceConfig
from ghl_sms.ops.errors import IdempotencyConflict, PreflightBlocked, UsageError
from ghl_sms.ops.ledger import SendRecord, SendState, derive_idempotency_key
from ghl_sms.ops.models import Note, SendOutcome
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.preflight import Reason, ReasonCode, Verdict, preflight
from ghl_sms.rules.segments import count_segments
from ghl_sms.rules.send_window import SendWindow

__all__ = ["FINAL_STATUSES", "SendRequest", "ServiceConfig", "SmsService"]

logger = logging.getLogger("ghl_sms.ops")


@dataclass(frozen=True, kw_only=True)
class SendRequest:
    text: str
    contact_id: str | None = None
    to: str | None = None
    """A phone number; its contact is found, or created, by phone."""
    conversation_id: str | None = None
    attachments: Sequence[str] = ()
    from_number: str | None = None
    scheduled_at: datetime | None = None
    idempotency_key: str | None = None
    allow_repeat: bool = False
    transactional: bool = False
    """Not marketing (a reminder, a code): quiet hours don't apply."""
    send_window: SendWindow | None = None
    """The sender's own hours (a bulk campaign's), transactional or not: outside them the
    send is treated as in quiet hours."""
    dry_run: bool = False
    campaign_id: str | None = None
    check_first_message: bool = True
    """Look up the conversation to warn about GHL's first-message footer (one request);
    bulk sends turn it off to spend their rate budget on sending."""
    render: Callable[[Contact | None], str] | None = None
    """Builds the text once the recipient's contact is looked up (bulk merge fields);
    ``text`` is then only the template. It may raise to refuse the recipient. Use it
    with an ``idempotency_key``."""
    ignore_quiet_hours: bool = False
    """Send a marketing text in the recipient's quiet hours on purpose (a warning note
    records it). By default such a send is refused with the next allowed time."""
    block_quiet_hours: bool = False
    """For callers that defer (bulk): in quiet hours, raise ``PreflightBlocked`` with the
    quiet-hours reason left a warning (not now, as opposed to never); the verdict's
    ``next_allowed_at`` says when the recipient may be texted. Without it the send is
    refused too, with a blocking reason that says what to do (``ops._quiet``)."""
    gate: Callable[[str | None, int], Awaitable[None]] | None = None
    """Awaited after the preflight passed and before the send is recorded, with the
    sending number and the message's parts: it may wait (carrier caps) or raise (not
    now), and then nothing is recorded or sent."""
    on_request: Callable[[], None] | None = None
    """Called just before each send request goes to GHL (after the ledger recorded it):
    bulk counts a recipient's attempts with it, durably, before the request may land."""


@dataclass(frozen=True)
class _Plan:
    request: SendRequest
    contact: Contact | None
    to: str | None
    sender: PhoneNumber | None
    verdict: Verdict
    key: str
    key_origin: Literal["caller", "derived"]
    template: str
    """The text as the caller gave it, before merge fields."""


def _person_name(contact: Contact) -> str | None:
    """The contact's name for the history; None when GHL has none (not the phone)."""
    full = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return (contact.name or full or "").strip() or None


def _defers(request: SendRequest, verdict: Verdict) -> bool:
    """The caller defers sends in quiet hours (bulk) and this one is in them."""
    return request.block_quiet_hours and not request.ignore_quiet_hours and in_quiet_hours(verdict)


def _quiet_hours_policy(request: SendRequest, verdict: Verdict) -> Verdict:
    """Refuse a marketing send in quiet hours, unless overridden on purpose or deferred."""
    if not in_quiet_hours(verdict):
        return verdict
    if request.ignore_quiet_hours:
        return sent_in_quiet_hours(verdict)
    if request.block_quiet_hours:
        return verdict  # the caller defers it (``_defers``)
    return refuse_in_quiet_hours(verdict, scheduled=request.scheduled_at is not None)


class SmsService(Reconciler):
    """The operations for one location, over a client and a ledger: sends here, reads
    in ``ServiceReads``, shared lookups in ``ServiceBase``."""

    # --- send -----------------------------------------------------------------------------

    async def send(self, request: SendRequest) -> SendOutcome:
        """Send (or schedule) one SMS/MMS after the preflight; raise if it must not go."""
        now = utc_datetime(self.clock)
        if request.scheduled_at is not None:
            if request.scheduled_at.tzinfo is None:
                raise UsageError("The schedule time needs a UTC offset.")
            if request.scheduled_at <= now:
                raise UsageError(
                    f"The schedule time {request.scheduled_at.isoformat()} is in the past; "
                    "pick a future time, or leave it out to send now."
                )
        require_one_recipient(
            to=request.to,
            contact_id=request.contact_id,
            conversation_id=request.conversation_id,
            missing="Say who to text: a contact id, a phone number or a conversation.",
        )
        if request.render is None:
            single_send_template(request.text)  # a malformed one is refused before any request
        contact_id = request.contact_id or None
        if request.conversation_id:
            contact_id = (await self._conversation(request.conversation_id)).contact_id

        e164: str | None = None
        if request.to:
            try:
                e164 = parse_phone(request.to, self.config.default_region).e164
            except PhoneNumberError:
                e164 = None  # the preflight reports it as invalid
        self._refuse_if_opted_out(request, contact_id, e164)
        key, origin = self._key(request, contact_id, e164)
        first = self.ledger.get(key) if origin == "caller" else None
        if first is not None:
            self._refuse_conflict(first, request, contact_id, e164)
        if not request.dry_run and not (request.allow_repeat and origin == "derived"):
            # A caller's key was read just above (one read serves both checks).
            record = first if origin == "caller" else self.ledger.get(key)
            earlier = self._earlier_duplicate(record, origin)
            if earlier is not None:
                return self._outcome_from_record(earlier, "duplicate")

        plan = await self._plan(request, contact_id, e164, key, origin, now)
        if plan.verdict.blocked or _defers(request, plan.verdict):
            raise PreflightBlocked(plan.verdict)
        if request.dry_run:
            return self._outcome(plan, "dry_run")
        return await self._execute(plan)

    def _refuse_if_opted_out(
        self, request: SendRequest, contact_id: str | None, e164: str | None
    ) -> None:
        """A recipient who opted out here is refused before any API call: a STOP seen by
        the webhook receiver blocks the next send even before GHL has flipped DND."""
        opt_out = self.ledger.opt_out_for(self.location_id, phone=e164, contact_id=contact_id)
        if opt_out is None:
            return
        reason = Reason(
            ReasonCode.OPTED_OUT,
            "blocked",
            "The contact opted out of texts; they must text START before you text them again.",
            {"source": opt_out.source},
        )
        raise PreflightBlocked(
            Verdict(
                level="blocked",
                reasons=(reason,),
                to=e164,
                segments=count_segments(request.text),
                segments_with_footer=None,
                quiet_hours=None,
                next_allowed_at=None,
            )
        )

    def _key(
        self, request: SendRequest, contact_id: str | None, e164: str | None
    ) -> tuple[str, Literal["caller", "derived"]]:
        if request.idempotency_key:
            return request.idempotency_key, "caller"
        recipient = contact_id or e164 or (request.to or "").strip()
        key = derive_idempotency_key(
            location_id=self.location_id,
            recipient=recipient,
            text=request.text,
            attachments=request.attachments,
            scheduled_at=request.scheduled_at.timestamp() if request.scheduled_at else None,
            from_number=request.from_number,
        )
        return key, "derived"

    def _refuse_conflict(
        self,
        first: SendRecord,
        request: SendRequest,
        contact_id: str | None,
        e164: str | None,
        *,
        template: str | None = None,
    ) -> None:
        refuse_conflict(
            first,
            text=request.text if template is None else template,
            attachments=request.attachments,
            contact_id=contact_id,
            e164=e164,
            raw_to=request.to,
            scheduled_at=request.scheduled_at.timestamp() if request.scheduled_at else None,
            from_number=request.from_number,
            region=self.config.default_region,
        )

    def _earlier_duplicate(self, record: SendRecord | None, origin: str) -> SendRecord | None:
        """The send under this key (``record``), if it already went out: checked before
        any API call."""
        if record is None or record.state not in (SendState.SENT, SendState.CANCELLED):
            return None
        if origin == "derived" and record.created_at < self.clock.now() - (
            self.config.repeat_window
        ):
            return None
        return record

    async def _plan(
        self,
        request: SendRequest,
        contact_id: str | None,
        e164: str | None,
        key: str,
        origin: Literal["caller", "derived"],
        now: datetime,
    ) -> _Plan:
        sender = await self._sender(request.from_number)
        contact: Contact | None = None
        if contact_id:
            contact = await self._contact(contact_id)
        elif e164:
            contact = await self._contact_by_phone(e164)
            if contact is not None:
                number_texted(contact, e164, self.config.default_region)
        template = request.text
        merge_reasons: list[Reason] = []
        if request.render is not None:
            request = replace(request, text=request.render(contact))
        elif (parsed := single_send_template(request.text)) is not None:
            merged = merge_contact(parsed, contact, e164)
            request = replace(request, text=merged.text)
            merge_reasons = merged.reasons
        # GHL texts the contact's own phone: preflight that number, not another one.
        to = request.to if contact is None else None
        is_first = False
        if contact is not None and request.check_first_message:
            is_first = await self._conversation_of(contact.id) is None
        verdict = preflight(
            contact=contact,
            to=to,
            text=request.text,
            now=request.scheduled_at or now,
            sender=sender,
            attachments=request.attachments,
            opted_out=self._opted_out(contact, e164 or (contact.phone if contact else None)),
            location_timezone=await self._location_tz(),
            is_first_message=is_first,
            transactional=request.transactional,
            send_window=request.send_window,
            default_region=self.config.default_region,
            many_segments=self.config.many_segments,
        )
        verdict = _quiet_hours_policy(request, add_reasons(verdict, merge_reasons))
        going = not (verdict.blocked or _defers(request, verdict) or request.dry_run)
        if contact is None and going and e164:
            # A number GHL doesn't know yet: create its contact so there is someone to text.
            contact = (await self.client.upsert_contact(phone=e164, source="ghl-sms")).contact
        return _Plan(request, contact, verdict.to, sender, verdict, key, origin, template)

    async def _execute(self, plan: _Plan) -> SendOutcome:
        request = plan.request
        assert plan.contact is not None  # the preflight blocks a send without a recipient
        if request.gate is not None:
            sender = request.from_number or (plan.sender.phone_number if plan.sender else None)
            await request.gate(sender, plan.verdict.segments.segments)
        claim = self.ledger.claim(
            idempotency_key=plan.key,
            key_origin=plan.key_origin,
            location_id=self.location_id,
            contact_id=plan.contact.id,
            to_number=plan.to,
            text=request.text,
            attachments=request.attachments,
            from_number=request.from_number,
            scheduled_at=request.scheduled_at.timestamp() if request.scheduled_at else None,
            repeat_window=self.config.repeat_window,
            allow_repeat=request.allow_repeat,
            campaign_id=request.campaign_id,
            template=plan.template,
            contact_name=_person_name(plan.contact),
        )
        record = claim.record
        if plan.key_origin == "caller" and claim.kind != "new":
            # Another process may have used the key since the check before the lookups.
            try:
                self._refuse_conflict(
                    record, request, plan.contact.id, None, template=plan.template
                )
            except IdempotencyConflict:
                if claim.kind == "in_doubt":
                    self.ledger.release(record.id)
                raise
        if claim.kind == "duplicate":
            return self._outcome_from_record(record, "duplicate")
        if claim.kind == "in_doubt":
            found = await self._find_sent(record)
            if found is not None:
                return self._adopt(plan, record, found)
        return await self._deliver(plan, record, may_retry=True)

    async def _deliver(self, plan: _Plan, record: SendRecord, *, may_retry: bool) -> SendOutcome:
        request = plan.request
        assert plan.contact is not None
        if request.on_request is not None:
            request.on_request()
        try:
            result = await self.client.send_message(
                contact_id=plan.contact.id,
                message=request.text,
                attachments=list(request.attachments) or None,
                from_number=request.from_number,
                scheduled_at=request.scheduled_at,
            )
        except SendOutcomeUnknownError as exc:
            self.ledger.mark_unknown(record.id, error_message=self.client.redact(str(exc)))
            await self.clock.sleep(self.config.reconcile_delay)
            try:
                found = await self._find_sent(record)
            except GhlError:
                raise exc from None  # can't look now; the record stays in doubt
            if found is not None:
                return self._adopt(plan, record, found)
            if not may_retry:
                raise
            logger.info("send %s provably absent after a lost answer; sending again", record.id)
            return await self._deliver(plan, record, may_retry=False)
        except GhlError as exc:
            code = str(exc.status_code) if exc.status_code else None
            if isinstance(exc, TransportError) and exc.reached_server:
                self.ledger.mark_unknown(record.id, error_message=self.client.redact(str(exc)))
            else:
                self.ledger.mark_failed(
                    record.id, error_code=code, error_message=self.client.redact(str(exc))
                )
            raise
        # GHL's send response has no "scheduled" status (its enum is delivered, failed,
        # pending, read); a message with a schedule is scheduled until it goes out.
        status = "scheduled" if request.scheduled_at else (result.status or "pending")
        self.ledger.mark_sent(
            record.id,
            message_id=result.message_id,
            conversation_id=result.conversation_id,
            status=status,
        )
        early = self.events.latest_status(result.message_id)
        if early is not None:  # a status webhook can beat GHL's answer to the send
            status = early.status
            self.ledger.update_status(
                result.message_id,
                early.status,
                error_code=early.error_code,
                error_message=early.error_message,
            )
        outcome: Literal["sent", "scheduled"] = "scheduled" if request.scheduled_at else "sent"
        return self._outcome(
            plan,
            outcome,
            message_id=result.message_id,
            conversation_id=result.conversation_id,
            status=status,
        )

    def _adopt(self, plan: _Plan, record: SendRecord, found: Message) -> SendOutcome:
        status = found.status or "pending"
        self.ledger.mark_sent(
            record.id,
            message_id=found.id,
            conversation_id=found.conversation_id,
            status=status,
        )
        outcome: Literal["sent", "scheduled"] = "scheduled" if record.scheduled_at else "sent"
        return self._outcome(
            plan,
            outcome,
            message_id=found.id,
            conversation_id=found.conversation_id,
            status=status,
            adopted=True,
        )

    def _price(self, plan: _Plan) -> float:
        if plan.request.attachments:
            return round(self.config.mms_price * max(plan.verdict.segments.segments, 1), 4)
        return round(self.config.sms_price_per_segment * plan.verdict.segments.segments, 4)

    def _outcome(
        self,
        plan: _Plan,
        outcome: Literal["sent", "scheduled", "duplicate", "dry_run"],
        *,
        message_id: str | None = None,
        conversation_id: str | None = None,
        status: str | None = None,
        adopted: bool = False,
    ) -> SendOutcome:
        verdict = plan.verdict
        footer = verdict.segments_with_footer
        return SendOutcome(
            outcome=outcome,
            message_id=message_id,
            conversation_id=conversation_id,
            contact_id=plan.contact.id if plan.contact else None,
            contact_name=plan.contact.display_name if plan.contact else None,
            to=plan.to,
            from_number=plan.request.from_number
            or (plan.sender.phone_number if plan.sender else None),
            status=status,
            scheduled_at=plan.request.scheduled_at,
            type="MMS" if plan.request.attachments else "SMS",
            encoding=verdict.segments.encoding,
            segments=verdict.segments.segments,
            segments_with_footer=footer.segments if footer else None,
            cost_estimate_usd=self._price(plan),
            verdict=verdict.level,
            notes=Note.all_of(verdict),
            idempotency_key=plan.key,
            adopted=adopted,
            text=plan.request.text,
        )

    def _outcome_from_record(
        self, record: SendRecord, outcome: Literal["duplicate"]
    ) -> SendOutcome:
        report = count_segments(record.text)
        return SendOutcome(
            outcome=outcome,
            message_id=record.message_id,
            conversation_id=record.conversation_id,
            contact_id=record.contact_id,
            to=record.to_number,
            from_number=record.from_number,
            status=record.status,
            scheduled_at=datetime.fromtimestamp(record.scheduled_at, UTC)
            if record.scheduled_at
            else None,
            type="MMS" if record.attachments else "SMS",
            encoding=report.encoding,
            segments=report.segments,
            verdict="ok",
            notes=[],
            idempotency_key=record.idempotency_key,
            text=record.text,
        )
