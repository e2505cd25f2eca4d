"""The dry run of a campaign: counts, skips, parts, cost, time, and exact samples.

Every recipient is counted locally (numbers, opt-outs, duplicates and fields the list
itself fills), or, with ``check_contacts``, through the same preflight a send runs
(one contact lookup each, paced). The samples always go through that preflight: each
shows exactly the text its recipient would get, rendered from their GHL contact, so a
preview never shows a template's raw placeholders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime
from typing import Any

from ghl_sms.ghl import RateLimits
from ghl_sms.ops.bulk.models import (
    Campaign,
    Preview,
    PreviewSample,
    ReasonCount,
    Recipient,
    SkipReason,
)
from ghl_sms.ops.bulk.recipient import recipient_request
from ghl_sms.ops.bulk.sources import normalize_phone
from ghl_sms.ops.bulk.template import MissingFields, Template, merge_fields
from ghl_sms.ops.errors import PreflightBlocked, RecipientNotFound
from ghl_sms.ops.service import ServiceConfig, SmsService
from ghl_sms.rules.phones import PhoneNumberError, parse_phone
from ghl_sms.rules.quiet_hours import check_quiet_hours, recipient_time
from ghl_sms.rules.segments import SegmentReport, count_segments
from ghl_sms.rules.send_window import apply_send_window

__all__ = ["SAMPLE_TRIES", "PreviewTally", "run_preview"]

SAMPLE_TRIES = 4
"""Recipients looked up per wanted sample, at most (the others found skipped count as
skipped): a list full of DND contacts doesn't turn a local dry run into a full check."""

ServiceOpener = Callable[[], AbstractAsyncContextManager[SmsService]]


class PreviewTally:
    """Accumulates the dry run over a stream of recipients (counters only)."""

    def __init__(
        self,
        campaign: Campaign,
        *,
        prices: ServiceConfig,
        limits: RateLimits,
        placeholder: str,
        now: datetime,
        samples: int,
        skipped: Counter[str],
        examples: dict[str, str],
    ) -> None:
        self.campaign = campaign
        self.template = Template.parse(campaign.template)
        self.prices = prices
        self.limits = limits
        self.placeholder = placeholder
        self.region = prices.default_region
        self.now = now
        self.want_samples = samples
        self.skipped = skipped
        self.examples = examples
        self.would_send = 0
        self.quiet = 0
        self.from_contact = 0
        self.looked_up = 0
        self.parts = 0
        self.max_parts = 0
        self.requests = 0
        self.cost = 0.0
        self.encodings: Counter[str] = Counter()
        self.samples: list[PreviewSample] = []
        self.missing_names: Counter[str] = Counter()
        self._segments: dict[str, SegmentReport] = {}
        self._people: dict[str, int] = {}
        """Contact ids and numbers of the recipients looked up -> their row."""
        self._quiet_by_prefix: dict[str, bool] = {}
        self._send_window = campaign.send_window_spec

    @property
    def wants_sample(self) -> bool:
        return (
            len(self.samples) < self.want_samples
            and self.looked_up < self.want_samples * SAMPLE_TRIES
        )

    def _segments_of(self, text: str) -> SegmentReport:
        report = self._segments.get(text)
        if report is None:
            if len(self._segments) > 10_000:
                self._segments.clear()
            report = self._segments[text] = count_segments(text)
        return report

    def _in_quiet_hours(self, phone: str | None) -> bool:
        """In quiet hours or outside the send window, by the number alone."""
        transactional, send_window = self.campaign.transactional, self._send_window
        if transactional and send_window is None:
            return False
        if not phone or not phone.startswith("+"):
            return False
        prefix = phone[:8]
        if prefix not in self._quiet_by_prefix:
            try:
                info = parse_phone(phone)
            except PhoneNumberError:
                return False
            recipient = apply_send_window(
                recipient_time(phone=info), send_window, transactional=transactional
            )
            check = check_quiet_hours(self.now, recipient)
            self._quiet_by_prefix[prefix] = check.allowed is False
        return self._quiet_by_prefix[prefix]

    def _count(self, row: Recipient, text: str, *, sample: str | None = None) -> None:
        self.would_send += 1
        report = self._segments_of(text)
        self.parts += report.segments
        self.max_parts = max(self.max_parts, report.segments)
        self.encodings[report.encoding] += 1
        if self.campaign.attachments:
            self.cost += self.prices.mms_price * max(report.segments, 1)
        else:
            self.cost += self.prices.sms_price_per_segment * report.segments
        self.requests += 2 if row.contact_id else 3
        if sample is not None and len(self.samples) < self.want_samples:
            self.samples.append(
                PreviewSample(
                    seq=row.seq,
                    to=row.phone,
                    contact_id=row.contact_id,
                    text=sample,
                    segments=report.segments,
                    encoding=report.encoding,
                )
            )

    def local(self, row: Recipient) -> None:
        """Counted without GHL: a field the row doesn't fill comes from the contact at
        send time, so its length is estimated with a placeholder."""
        values = dict(row.fields)
        missing = self.template.missing(values)
        if missing:
            self.from_contact += 1
            self.missing_names.update(missing)
        unfilled = [f.name for f in self.template.fields if not values.get(f.name)]
        estimate = self.template.render(values | dict.fromkeys(unfilled, self.placeholder))
        if self._in_quiet_hours(row.phone):
            self.quiet += 1
        self._count(row, estimate)

    def _skip(self, code: str, sentence: str) -> None:
        self.skipped[code] += 1
        self.examples.setdefault(code, sentence)

    async def checked(self, service: SmsService, row: Recipient) -> None:
        """Through the send's own preflight (dry run): exact text, exact verdict."""
        self.looked_up += 1
        rendered: list[str] = []
        missing: list[tuple[str, ...]] = []
        people: list[str] = []

        def render(contact: Any) -> str:
            if contact is not None:
                people.append(f"contact:{contact.id}")
                phone = normalize_phone(contact.phone or "", self.region)
                people.extend([f"phone:{phone}"] if phone else [])
            elif row.phone:
                people.append(f"phone:{row.phone}")
            values = merge_fields(row.fields, contact)
            try:
                text = self.template.render(values)
            except MissingFields as exc:
                missing.append(exc.names)
                text = self.template.render(values, placeholder="")
            rendered.append(text)
            return text

        request = recipient_request(self.campaign, row, render, dry_run=True)
        try:
            await service.send(request)
        except PreflightBlocked as exc:
            hard = [r for r in exc.verdict.reasons if r.level == "blocked"]
            if hard:
                self._skip(str(hard[0].code), hard[0].message)
                return
            self.quiet += 1
        except RecipientNotFound as exc:
            self._skip("contact_not_found", str(exc))
            return
        if missing:
            self._skip("missing_fields", str(MissingFields(missing[0])))
            return
        earlier = next((self._people[p] for p in people if p in self._people), None)
        if earlier is not None:
            self._skip(
                str(SkipReason.DUPLICATE_RECIPIENT),
                f"Row {row.seq} is the same person as row {earlier}; each person is texted "
                "once per campaign.",
            )
            return
        self._people.update(dict.fromkeys(people, row.seq))
        text = rendered[-1] if rendered else self.template.source
        self._count(row, text, sample=text)

    def result(self, dnd_checked: bool) -> Preview:
        campaign = self.campaign
        caps = campaign.caps_spec
        limits = self.limits
        per_second = limits.burst / (limits.window * (1 + limits.margin))
        duration = self.requests / per_second if self.requests else 0.0
        per_minute = [c for c in (caps.per_minute, caps.number_per_minute) if c]
        if per_minute and self.would_send:
            duration = max(duration, self.would_send / min(per_minute) * 60.0)
        skipped = [
            ReasonCount(state="skipped", code=code, count=n, example=self.examples.get(code))
            for code, n in self.skipped.most_common()
        ]
        return Preview(
            campaign_id=campaign.id,
            total=campaign.total,
            would_send=self.would_send,
            skipped=skipped,
            deferred_quiet_hours=self.quiet,
            fields_from_contact=self.from_contact,
            dnd_checked=dnd_checked,
            messages_parts=self.parts,
            max_parts=self.max_parts,
            encodings=dict(self.encodings),
            cost_estimate_usd=round(self.cost, 4),
            requests_estimate=self.requests + (2 if self.requests else 0),
            duration_estimate_seconds=round(duration, 1),
            samples=self.samples,
            warnings=self._warnings(dnd_checked),
        )

    def _warnings(self, dnd_checked: bool) -> list[str]:
        """Plain sentences, the same for every face (no command-line flags in them)."""
        caps = self.campaign.caps_spec
        warnings: list[str] = []
        if self.max_parts > 1:
            warnings.append(f"Messages take up to {self.max_parts} parts, each billed.")
        ucs2 = self.encodings.get("UCS-2", 0)
        if ucs2:
            warnings.append(
                f"{_plural(ucs2, 'message needs', 'messages need')} Unicode (UCS-2): "
                "70 characters a part instead of 160."
            )
        if self.quiet:
            what = (
                "wait for their next allowed moment"
                if self.campaign.quiet_hours == "defer"
                else "are skipped"
            )
            outside = " or outside the send window" if self._send_window else ""
            warnings.append(
                f"{_plural(self.quiet, 'recipient is', 'recipients are')} in their quiet "
                f"hours{outside} now and {what}."
            )
        per_day = [c for c in (caps.per_day, caps.number_per_day) if c]
        if per_day and self.would_send > min(per_day):
            days = -(-self.would_send // min(per_day))
            warnings.append(
                f"The daily cap of {min(per_day):,} spreads the campaign over {days:,} days."
            )
        if self.from_contact:
            names = ", ".join(n for n, _ in self.missing_names.most_common(3))
            warnings.append(
                f"{_plural(self.from_contact, 'recipient needs', 'recipients need')} {names} "
                "from their GHL contact; those whose contact lacks it are skipped."
            )
        if not dnd_checked and self.would_send:
            warnings.append(
                "DND is read from each contact as its message is sent: some of these may "
                "still be skipped for it."
            )
        return warnings


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


async def run_preview(
    tally: PreviewTally,
    rows: Iterable[Recipient],
    open_service: ServiceOpener,
    *,
    check_contacts: bool,
) -> Preview:
    """Feed every open recipient to ``tally``; the service is opened only when a
    recipient is looked up (samples, or every one with ``check_contacts``)."""
    async with AsyncExitStack() as stack:
        service: SmsService | None = None
        for row in rows:
            if check_contacts or tally.wants_sample:
                if service is None:
                    service = await stack.enter_async_context(open_service())
                await tally.checked(service, row)
            else:
                tally.local(row)
    return tally.result(check_contacts)
