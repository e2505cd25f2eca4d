"""One recipient's send: the request it gets, and every way it can end.

Each recipient is sent through ``SmsService.send`` under its own idempotency key, so
the preflight, the ledger claim and the reconciliation of an interrupted send come
from the one place that does them for single sends. The service calls back into the
pump: ``render`` with the contact (merge fields; who the row turned out to be),
``gate`` once the preflight passed (one person one text, the spend cap, the carrier
caps; the campaign still running), and ``on_request`` before each send request (the
recipient's attempts). What it raises decides the recipient's outcome (``outcomes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ghl_sms.ghl import (
    ApiError,
    AuthenticationError,
    Contact,
    GhlError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
)
from ghl_sms.ops.bulk.budget import CapReached, LeaseLost
from ghl_sms.ops.bulk.caps import LateForDeadline
from ghl_sms.ops.bulk.guards import DuplicateRecipient, SpendCapReached
from ghl_sms.ops.bulk.models import Campaign, CampaignState, RecipientState, SkipReason
from ghl_sms.ops.bulk.models import Recipient as Row
from ghl_sms.ops.bulk.outcomes import Outcomes, expired_sentence
from ghl_sms.ops.bulk.report import Resolved
from ghl_sms.ops.bulk.sources import normalize_phone
from ghl_sms.ops.bulk.store import CANCELLED_REASON
from ghl_sms.ops.bulk.template import MissingFields, merge_fields
from ghl_sms.ops.errors import (
    PreflightBlocked,
    RecipientNotFound,
    RepeatSendError,
    SenderNotAvailable,
    SendInProgressError,
    UsageError,
)
from ghl_sms.ops.service import SendRequest

__all__ = ["RecipientPath", "recipient_request"]


def recipient_request(
    campaign: Campaign, row: Row, render: Callable[[Contact | None], str], **extra: Any
) -> SendRequest:
    """The one send a recipient gets: under its own idempotency key, rendered from the
    contact, refused in quiet hours or outside the campaign's send window (the pump
    defers it), without the first-message
    lookup (a campaign spends its budget on sending)."""
    return SendRequest(
        text=campaign.template,
        render=render,
        contact_id=row.contact_id,
        to=None if row.contact_id else row.phone,
        idempotency_key=row.idempotency_key,
        campaign_id=campaign.id,
        transactional=campaign.transactional,
        send_window=campaign.send_window_spec,
        check_first_message=False,
        from_number=campaign.from_number,
        attachments=tuple(campaign.attachments),
        block_quiet_hours=True,
        **extra,
    )


class _Stopped(Exception):
    """The campaign was paused or cancelled after this recipient was claimed."""


class RecipientPath(Outcomes):
    """The pump's send path for one recipient (``Pump`` runs it in its workers)."""

    async def _process(self, row: Row) -> None:
        campaign = self._campaigns.get(row.campaign_id)
        if campaign is None:
            current = self.store.get_campaign(row.campaign_id)
            if current is not None and current.state == CampaignState.CANCELLED:
                self._finish(
                    row,
                    RecipientState.SKIPPED,
                    code=str(SkipReason.CANCELLED),
                    reason=CANCELLED_REASON,
                )
            else:
                self._release(row)
            return
        if not self.lease.keep():
            self._release(row)
            return
        if self._expired(campaign):
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.EXPIRED),
                         reason=expired_sentence(campaign))  # fmt: skip
            return
        quiet = self._quiet_until(campaign, row)
        if quiet is not None:
            # Known from the number alone: wait (or skip) without spending a request.
            self._in_quiet_hours(row, campaign, *quiet)
            return
        blocked = self.caps.blocked_until(campaign)
        if blocked is not None:
            until, code, why = blocked
            self._hit_cap([campaign], until, code, why)
            self._finish(row, RecipientState.DEFERRED, code=code, reason=why, not_before=until)
            return
        missing: list[tuple[str, ...]] = []
        person: list[tuple[str | None, str | None]] = []
        template = self._templates[campaign.id]

        def render(contact: Contact | None) -> str:
            person[:] = [self._person(row, contact)]
            if contact is not None:  # for the report: who the row turned out to be
                self._resolved[row.id] = Resolved(*person[0], _contact_name(contact))
            values = merge_fields(row.fields, contact)
            try:
                return template.render(values)
            except MissingFields as exc:
                missing.append(exc.names)  # refused in the gate, after the preflight
                return template.render(values, placeholder="")

        async def gate(sender: str | None, parts: int) -> None:
            if missing:
                raise MissingFields(missing[0])
            current = self.store.get_campaign(campaign.id)
            if current is None or current.state != CampaignState.RUNNING:
                raise _Stopped  # paused or cancelled since it was claimed: send nothing
            self._claim_person(campaign, row, person[0] if person else (None, None), parts)
            await self.caps.claim(campaign, sender)

        def sending() -> None:
            self.store.count_attempt(row.id)

        request = recipient_request(campaign, row, render, gate=gate, on_request=sending)
        try:
            outcome = await self.service.send(request)
        except LeaseLost:
            # Another process holds the location now and settles this recipient.
            self._release(row)
            return
        except _Stopped:
            self._release(row)  # back to waiting; skipped if the campaign was cancelled
            return
        except LateForDeadline:
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.EXPIRED),
                         reason=expired_sentence(campaign))  # fmt: skip
        except PreflightBlocked as exc:
            self._blocked(row, campaign, exc)
        except MissingFields as exc:
            self._finish(
                row, RecipientState.SKIPPED, code=str(SkipReason.MISSING_FIELDS), reason=str(exc)
            )
        except DuplicateRecipient as exc:
            self._finish(
                row,
                RecipientState.SKIPPED,
                code=str(SkipReason.DUPLICATE_RECIPIENT),
                reason=str(exc),
            )
        except SpendCapReached as exc:
            self._release(row)
            self._pause(campaign, str(exc))
        except RecipientNotFound as exc:
            self._finish(
                row, RecipientState.SKIPPED, code=str(SkipReason.CONTACT_NOT_FOUND), reason=str(exc)
            )
        except RepeatSendError as exc:
            self._finish(row, RecipientState.SKIPPED, code=str(SkipReason.REPEAT), reason=str(exc))
        except SendInProgressError as exc:
            until = exc.record.lease_until or self.clock.now() + 60.0
            self._finish(
                row,
                RecipientState.DEFERRED,
                code=str(SkipReason.IN_PROGRESS),
                reason=str(exc),
                not_before=until,
            )
        except CapReached as exc:
            if exc.key == self.pacer.key:  # GHL's daily request limit, met in the gate
                self._ghl_daily_limit(row, exc.until)
            else:
                self._hit_cap([campaign], exc.until, str(SkipReason.DAILY_CAP), str(exc))
                self._finish(
                    row,
                    RecipientState.DEFERRED,
                    code=str(SkipReason.DAILY_CAP),
                    reason=str(exc),
                    not_before=exc.until,
                )
        except (SenderNotAvailable, AuthenticationError, PermissionDeniedError) as exc:
            # Every recipient would fail the same way: stop the campaign, keep the rest.
            self._release(row)
            self._pause(campaign, str(exc))
        except RateLimitError as exc:
            self._rate_limited(row, campaign, exc)
        except (InvalidRequestError, UsageError) as exc:
            self._finish(row, RecipientState.FAILED, code=str(SkipReason.REJECTED), reason=str(exc))
        except ApiError as exc:
            if exc.status_code < 500:
                self._finish(
                    row, RecipientState.FAILED, code=str(SkipReason.REJECTED), reason=str(exc)
                )
            else:
                self._retry(row, campaign, exc)
        except GhlError as exc:  # transport, a lost answer not yet settled, a bad body
            self._retry(row, campaign, exc)
        else:
            self._finish(row, RecipientState.SENT, message_id=outcome.message_id)
            if campaign.waiting_reason is not None:
                self._set_waiting(campaign, None, None)

    def _person(self, row: Row, contact: Contact | None) -> tuple[str | None, str | None]:
        """The contact and E.164 number this row texts (a new number: just the number)."""
        if contact is None:
            return None, row.phone if row.phone and row.phone.startswith("+") else None
        region = self.service.config.default_region
        phone = normalize_phone(contact.phone, region) if contact.phone else None
        return contact.id, phone

    def _claim_person(
        self, campaign: Campaign, row: Row, person: tuple[str | None, str | None], parts: int
    ) -> None:
        """Claim the person for this row and book its cost, in one step; raises when an
        earlier row has them, or when the cost would cross the campaign's cap."""
        contact_id, phone = person
        prices = self.service.config
        if campaign.attachments:
            cost = prices.mms_price * max(parts, 1)
        else:
            cost = prices.sms_price_per_segment * parts
        guards = campaign.guards
        result = self.guards.claim(
            recipient_id=row.id,
            campaign_id=campaign.id,
            seq=row.seq,
            contact_id=contact_id,
            phone=phone,
            cost=cost,
            max_cost=guards.max_cost_usd,
        )
        if result.duplicate_of is not None:
            who = f"contact {contact_id}" if contact_id else (phone or "the same number")
            raise DuplicateRecipient(row.seq, result.duplicate_of, who)
        if result.over_budget:
            assert guards.max_cost_usd is not None
            raise SpendCapReached(result.spent_usd, cost, guards.max_cost_usd)


def _contact_name(contact: Contact) -> str | None:
    full = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return (contact.name or full or "").strip() or None
