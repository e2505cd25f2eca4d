"""Quiet hours for one send: refused by default, overridden only on purpose.

The rules (``ghl_sms.rules.preflight``) report a marketing text outside the recipient's
allowed hours as a warning; what to do about it is the operation's decision:

- a single send (now, or at a scheduled time that falls in quiet hours) is **refused**, as
  carriers and TCPA expect, with the next allowed time and the two ways forward: schedule
  it then, or mark it transactional when it is not marketing;
- ``ignore_quiet_hours`` sends anyway, on purpose, and says so in a warning note;
- a caller that defers (bulk, ``block_quiet_hours``) gets ``PreflightBlocked`` with the
  quiet-hours reason left a *warning*, so that "not now" stays distinguishable from
  "never" (a hard reason); ``verdict.next_allowed_at`` says when to try again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ghl_sms.rules.preflight import Reason, ReasonCode, Verdict
from ghl_sms.rules.quiet_hours import QuietHoursCheck

__all__ = ["in_quiet_hours", "iso_utc", "refuse_in_quiet_hours", "sent_in_quiet_hours"]


def in_quiet_hours(verdict: Verdict) -> bool:
    """The recipient's local time is known and outside their allowed hours."""
    return verdict.quiet_hours is not None and verdict.quiet_hours.allowed is False


def iso_utc(moment: datetime) -> str:
    """``2026-03-05T16:00:00Z``: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _recipient_local(moment: datetime, quiet: QuietHoursCheck) -> str:
    zones = quiet.recipient.zones
    local = moment.astimezone(ZoneInfo(zones[0])) if zones else moment.astimezone(UTC)
    return local.replace(microsecond=0).isoformat()


def _refusal(quiet: QuietHoursCheck, scheduled: bool) -> str:
    local = ", ".join(f"{t:%a %H:%M %Z}" for t in quiet.local_times)
    window = quiet.recipient.window.describe()
    when = f"At the scheduled time it is {local}" if scheduled else f"It is {local}"
    head = f"{when} for the recipient, outside the hours marketing texts may reach them ({window})."
    transactional = (
        "or, if it is not marketing (a reminder, a code, a reply), mark it transactional "
        "(--transactional / transactional=true)"
    )
    override = " To send in their quiet hours anyway, on purpose: --ignore-quiet-hours."
    moment = quiet.next_allowed_at
    if moment is None:
        return f"{head} No time in the next month is allowed for them; {transactional}.{override}"
    return (
        f"{head} The next allowed time is {_recipient_local(moment, quiet)} "
        f"({iso_utc(moment)}): schedule it then (--at {iso_utc(moment)} / "
        f"send_at), {transactional}.{override}"
    )


def _replace_reason(verdict: Verdict, reason: Reason) -> Verdict:
    others = [r for r in verdict.reasons if r.code != ReasonCode.QUIET_HOURS]
    blocked = [r for r in others if r.level == "blocked"]
    warnings = [r for r in others if r.level == "warn"]
    if reason.level == "blocked":
        blocked.append(reason)
    else:
        warnings.insert(0, reason)
    return replace(
        verdict,
        reasons=tuple(blocked + warnings),
        level="blocked" if blocked else ("warn" if warnings else "ok"),
    )


def _quiet_reason(verdict: Verdict) -> Reason:
    return next(r for r in verdict.reasons if r.code == ReasonCode.QUIET_HOURS)


def refuse_in_quiet_hours(verdict: Verdict, *, scheduled: bool) -> Verdict:
    """The verdict with its quiet-hours warning turned into a blocking reason that gives
    the next allowed time (the recipient's offset and UTC) and the ways forward."""
    assert verdict.quiet_hours is not None
    reason = _quiet_reason(verdict)
    details = dict(reason.details)
    if verdict.quiet_hours.next_allowed_at is not None:
        details["next_allowed_local"] = _recipient_local(
            verdict.quiet_hours.next_allowed_at, verdict.quiet_hours
        )
    blocked = Reason(
        ReasonCode.QUIET_HOURS,
        "blocked",
        _refusal(verdict.quiet_hours, scheduled),
        details,
    )
    return _replace_reason(verdict, blocked)


def sent_in_quiet_hours(verdict: Verdict) -> Verdict:
    """The verdict with its quiet-hours warning saying the override was deliberate."""
    reason = _quiet_reason(verdict)
    note = Reason(
        ReasonCode.QUIET_HOURS,
        "warn",
        "Sent in the recipient's quiet hours on purpose (ignore_quiet_hours): " + reason.message,
        reason.details,
    )
    return _replace_reason(verdict, note)
