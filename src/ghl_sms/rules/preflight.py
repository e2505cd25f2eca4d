"""Preflight: every rule applied to one contact and one message, before anything is sent.

``preflight(...)`` is a pure function. It returns a ``Verdict`` whose ``level`` is

- ``blocked``: sending would break a rule or certainly fail (DND, opted out, no or invalid
  number, empty or over-long text, a sender that can't send it, unusable attachments);
- ``warn``: it may go, but someone should know (quiet hours, cost, GHL's footer...);
- ``ok``.

Every reason has a stable ``code`` (``ReasonCode``) for programs and a sentence for people.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from ghl_sms.ghl._models import Contact, PhoneNumber
from ghl_sms.rules.mms import Attachment, check_attachments
from ghl_sms.rules.phones import DEFAULT_REGION, PhoneInfo, PhoneNumberError, parse_phone
from ghl_sms.rules.quiet_hours import QuietHoursCheck, check_quiet_hours, recipient_time
from ghl_sms.rules.segments import SegmentReport, count_segments, gsm_suggestion
from ghl_sms.rules.send_window import SendWindow, apply_send_window, describe_hours
from ghl_sms.rules.text import check_text, ghl_footer

__all__ = ["Level", "Reason", "ReasonCode", "Verdict", "preflight"]

Level = Literal["ok", "warn", "blocked"]


class ReasonCode(StrEnum):
    # blocked
    SMS_DND = "sms_dnd"
    OPTED_OUT = "opted_out"
    NO_PHONE = "no_phone"
    INVALID_PHONE = "invalid_phone"
    SAME_AS_SENDER = "same_as_sender"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    SMS_NOT_SUPPORTED = "sms_not_supported"
    MMS_NOT_SUPPORTED = "mms_not_supported"
    BAD_ATTACHMENT = "bad_attachment"
    MERGE_FIELDS = "merge_fields"
    """A merge field the recipient has no value for (set by the operations layer)."""
    # warn
    QUIET_HOURS = "quiet_hours"
    LOCAL_TIME_UNKNOWN = "local_time_unknown"
    MANY_SEGMENTS = "many_segments"
    UCS2_REPLACEABLE = "ucs2_replaceable"
    FIRST_MESSAGE_FOOTER = "first_message_footer"
    TOLL_FREE = "toll_free"
    LANDLINE_SUSPECTED = "landline_suspected"
    ATTACHMENT_WARNING = "attachment_warning"
    SENDER_CAPABILITIES_UNKNOWN = "sender_capabilities_unknown"
    MERGE_FALLBACK = "merge_fallback"
    """A merge field's fallback was used (set by the operations layer)."""


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    level: Literal["warn", "blocked"]
    message: str
    """One sentence for a person: what is wrong and what to do."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """JSON-safe specifics (counts, times, the attachment concerned)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "level": self.level,
            "message": self.message,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Verdict:
    level: Level
    reasons: tuple[Reason, ...]
    """Blocking reasons first, then warnings, each in the order they were found."""
    to: str | None
    """The recipient in E.164, when the number is valid."""
    segments: SegmentReport
    segments_with_footer: SegmentReport | None
    """The estimate with GHL's first-message footer; None when none is expected."""
    quiet_hours: QuietHoursCheck | None
    """None when quiet hours were not checked (transactional without a send window, or
    no valid number). With a send window its ``recipient.window`` is the combined one."""
    next_allowed_at: datetime | None
    """When quiet hours hold the message back: the earliest moment it may go (UTC)."""

    @property
    def ok(self) -> bool:
        return self.level == "ok"

    @property
    def blocked(self) -> bool:
        return self.level == "blocked"

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return tuple(reason.code for reason in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "to": self.to,
            "segments": self.segments.to_dict(),
            "segments_with_footer": (
                self.segments_with_footer.to_dict() if self.segments_with_footer else None
            ),
            "quiet_hours": self.quiet_hours.to_dict() if self.quiet_hours else None,
            "next_allowed_at": (self.next_allowed_at.isoformat() if self.next_allowed_at else None),
        }


def _dnd_details(contact: Contact) -> dict[str, Any]:
    sms = contact.dnd_settings.sms if contact.dnd_settings else None
    return {"dnd": contact.dnd, "sms_status": sms.status if sms else None}


def _is_opted_out(
    opted_out: bool | Collection[str], contact: Contact | None, e164: str | None
) -> bool:
    if isinstance(opted_out, bool):
        return opted_out
    if isinstance(opted_out, str):  # one key, not a collection of its characters
        opted_out = {opted_out}
    keys = {key for key in (contact.id if contact else None, e164) if key}
    return any(key in opted_out for key in keys)


def preflight(
    *,
    contact: Contact | None,
    text: str,
    now: datetime,
    sender: PhoneNumber | None = None,
    attachments: Sequence[str | Attachment] = (),
    opted_out: bool | Collection[str] = False,
    to: str | None = None,
    location_timezone: str | None = None,
    is_first_message: bool = False,
    transactional: bool = False,
    send_window: SendWindow | None = None,
    holidays: Collection[date] = (),
    default_region: str = DEFAULT_REGION,
    business_name: str | None = None,
    sender_name: str | None = None,
    many_segments: int = 3,
) -> Verdict:
    """Check one message to one contact against every SMS rule.

    Args:
        contact: the contact as ``GET /contacts/{id}`` returns it (search results lack DND).
        text: the exact body that will be submitted.
        now: the send instant, an aware datetime (scheduled sends: the scheduled time).
        sender: the sending number with its capabilities; None skips the sender checks.
        attachments: media URLs, or ``Attachment`` with known size and Content-Type.
        opted_out: the local ledger's answer (a bool), or the set of opted-out E.164
            numbers and contact ids to look the recipient up in.
        to: a number to text instead of the contact's ``phone``.
        location_timezone: the GHL location's zone, the last resort for local time.
        is_first_message: no earlier conversation (or GHL's periodic re-insertion is due),
            so GHL appends its opt-out footer.
        transactional: not marketing (reminders, codes): quiet hours don't apply.
        send_window: the sender's own daily hours (a campaign's), in the recipient's local
            time: intersected with the legal window, and applied to transactional
            messages too; outside it is reported like quiet hours (``QUIET_HOURS``).
        holidays: dates (recipient-local) on which states that ban holiday texts block.
        default_region: region for numbers written without a country code.
        business_name, sender_name: what GHL's footer will say, when known.
        many_segments: warn from this many parts on.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (e.g. datetime.now(UTC))")
    blocked: list[Reason] = []
    warnings: list[Reason] = []

    def block(code: ReasonCode, message: str, **details: Any) -> None:
        blocked.append(Reason(code, "blocked", message, details))

    def warn(code: ReasonCode, message: str, **details: Any) -> None:
        warnings.append(Reason(code, "warn", message, details))

    # --- the recipient ----------------------------------------------------------------
    if contact is not None and contact.sms_dnd:
        block(
            ReasonCode.SMS_DND,
            "The contact has SMS Do Not Disturb on; don't text them (permanent DND clears "
            "only when they text START).",
            **_dnd_details(contact),
        )
    raw_phone = to if to is not None else (contact.phone if contact else None)
    phone: PhoneInfo | None = None
    if raw_phone is None or not raw_phone.strip():
        block(ReasonCode.NO_PHONE, "The contact has no phone number; add one before texting.")
    else:
        try:
            phone = parse_phone(raw_phone, default_region)
        except PhoneNumberError as exc:
            block(
                ReasonCode.INVALID_PHONE,
                f"{raw_phone!r} is not a valid phone number; fix it on the contact "
                "(E.164, such as +15551234567).",
                phone=raw_phone,
                problem=exc.reason,
            )
    e164 = phone.e164 if phone else None
    if _is_opted_out(opted_out, contact, e164):
        block(
            ReasonCode.OPTED_OUT,
            "The contact opted out of texts; they must text START before you text them again.",
        )
    if phone is not None and sender is not None and phone.e164 == sender.phone_number:
        block(ReasonCode.SAME_AS_SENDER, "The recipient is the sending number itself.")

    # --- the body ---------------------------------------------------------------------
    problem = check_text(text, has_attachments=bool(attachments))
    if problem is not None:
        code = ReasonCode.EMPTY if problem.code == "empty" else ReasonCode.TOO_LONG
        block(code, problem.message, length=problem.length, limit=problem.limit)

    # --- the sender and the media ------------------------------------------------------
    caps = sender.capabilities if sender is not None else None
    caps_known = caps is not None and (caps.sms or caps.mms or caps.voice or caps.fax)
    if sender is not None and not caps_known:
        # An all-false object is what a payload without capabilities parses to.
        warn(
            ReasonCode.SENDER_CAPABILITIES_UNKNOWN,
            f"GHL reported no capabilities for {sender.phone_number}; check that it can "
            "send SMS" + (" and MMS." if attachments else "."),
            sender=sender.phone_number,
        )
    elif sender is not None and caps is not None:
        if not caps.sms:
            block(
                ReasonCode.SMS_NOT_SUPPORTED,
                f"{sender.phone_number} can't send SMS; choose another sending number.",
                sender=sender.phone_number,
            )
        if attachments and not caps.mms:
            block(
                ReasonCode.MMS_NOT_SUPPORTED,
                f"{sender.phone_number} can't send MMS; choose an MMS-capable number or send "
                "a link instead of attachments.",
                sender=sender.phone_number,
            )
    if attachments:
        media = check_attachments(
            attachments, toll_free_sender=sender is not None and sender.type == "toll-free"
        )
        for issue in media.issues:
            details = {"issue": issue.code, "index": issue.index, "url": issue.url}
            if issue.level == "blocked":
                block(ReasonCode.BAD_ATTACHMENT, issue.message, **details)
            else:
                warn(ReasonCode.ATTACHMENT_WARNING, issue.message, **details)

    # --- when ---------------------------------------------------------------------------
    quiet: QuietHoursCheck | None = None
    next_allowed_at: datetime | None = None
    # Without a usable number there is nobody to wait for: quiet hours would be noise.
    if phone is not None and (not transactional or send_window is not None):
        recipient = recipient_time(
            contact_timezone=contact.timezone if contact else None,
            contact_state=contact.state if contact else None,
            contact_country=contact.country if contact else None,
            phone=phone,
            location_timezone=location_timezone,
        )
        recipient = apply_send_window(recipient, send_window, transactional=transactional)
        quiet = check_quiet_hours(now, recipient, holidays=holidays)
        window = describe_hours(recipient, send_window, transactional=transactional)
        # The way out a marketing text has; none from the sender's own hours.
        or_transactional = (
            "." if send_window else ", or mark it transactional if it isn't marketing."
        )
        if quiet.allowed is None:
            warn(
                ReasonCode.LOCAL_TIME_UNKNOWN,
                "The recipient's local time is unknown; set the contact's or the location's "
                "time zone" + or_transactional,
            )
        elif not quiet.allowed:
            next_allowed_at = quiet.next_allowed_at
            local = ", ".join(f"{t:%a %H:%M %Z}" for t in quiet.local_times)
            when = (
                f"send at {next_allowed_at:%Y-%m-%d %H:%M} UTC or later"
                if next_allowed_at
                else "no time in the next month is allowed"
            )
            warn(
                ReasonCode.QUIET_HOURS,
                f"It is {local} for the recipient, outside the allowed hours ({window}); "
                f"{when}{or_transactional}",
                zones=list(recipient.zones),
                zone_source=recipient.zone_source,
                states=list(recipient.states),
                window=window,
                next_allowed_at=next_allowed_at.isoformat() if next_allowed_at else None,
            )

    # --- cost -------------------------------------------------------------------------
    report = count_segments(text)
    if report.segments >= many_segments:
        warn(
            ReasonCode.MANY_SEGMENTS,
            f"The message takes {report.segments} parts and each is billed; shorten it to "
            "cut the cost (320 characters or less also delivers better).",
            segments=report.segments,
        )
    if report.encoding == "UCS-2":
        suggestion = gsm_suggestion(text, report)
        if suggestion.segments_saved > 0:
            chars = ", ".join(
                f"{r.original!r} (U+{ord(r.original[0]):04X})" for r in suggestion.replacements
            )
            warn(
                ReasonCode.UCS2_REPLACEABLE,
                f"{chars} force Unicode (UCS-2): {suggestion.segments_before} parts instead of "
                f"{suggestion.segments_after}; replace them with plain equivalents to save "
                f"{suggestion.segments_saved}.",
                **suggestion.to_dict(),
            )
    with_footer: SegmentReport | None = None
    if is_first_message:
        footer = ghl_footer(text, sender_name=sender_name, business_name=business_name)
        if footer:
            with_footer = count_segments(text + footer)
            grows = with_footer.segments - report.segments
            change = (
                f"{with_footer.segments} parts instead of {report.segments}"
                if grows
                else f"still {report.segments} part{'s' if report.segments != 1 else ''}"
            )
            warn(
                ReasonCode.FIRST_MESSAGE_FOOTER,
                f"GHL appends opt-out and sender text to the first message ({change}); "
                'include your own "Reply STOP to unsubscribe" and business name to control it.',
                footer=footer,
                segments=report.segments,
                segments_with_footer=with_footer.segments,
            )

    # --- the number's kind (offline hints only) ---------------------------------------
    if phone is not None and phone.is_toll_free:
        warn(ReasonCode.TOLL_FREE, "The recipient is a toll-free number, which often can't "
             "receive texts; check the number.")  # fmt: skip
    elif phone is not None and phone.line_type == "fixed_line":
        warn(ReasonCode.LANDLINE_SUSPECTED, "The recipient's number is a fixed line, which "
             "usually can't receive texts; check the number.")  # fmt: skip

    reasons = tuple(blocked + warnings)
    level: Level = "blocked" if blocked else ("warn" if warnings else "ok")
    return Verdict(
        level=level,
        reasons=reasons,
        to=e164,
        segments=report,
        segments_with_footer=with_footer,
        quiet_hours=quiet,
        next_allowed_at=next_allowed_at,
    )
