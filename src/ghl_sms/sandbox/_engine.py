"""The sandbox's behaviour, independent of HTTP: auth, sends, the carrier's progress,
replies, DND and webhook events. Routes validate input and call in here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, cast

from ghl_sms._clock import Clock
from ghl_sms.rules.carrier_errors import AUTO_DND_CODES, lookup
from ghl_sms.rules.keywords import KeywordKind, classify_keyword
from ghl_sms.rules.phones import to_e164 as _to_e164
from ghl_sms.sandbox import carrier
from ghl_sms.sandbox._errors import bad_request, forbidden_location, unauthorized
from ghl_sms.sandbox._faults import FaultInjector
from ghl_sms.sandbox._ids import make_id, make_token, make_uuid
from ghl_sms.sandbox._oauth import OAuthServer
from ghl_sms.sandbox._ratelimit import Limits, RateLimiter
from ghl_sms.sandbox._seed import DEMO_LOCATION_ID, seed, seed_ids
from ghl_sms.sandbox._seed_agency import seed_agency
from ghl_sms.sandbox._shapes import TYPE_SMS, error_json, iso
from ghl_sms.sandbox._webhooks import WebhookOutbox, WebhookSigner
from ghl_sms.sandbox.store import ConversationRow, MessageRow, NumberRow, SandboxStore

__all__ = ["ALL_SCOPES", "ACCEPTED_VERSIONS", "AuthContext", "SandboxEngine"]

JsonDict = dict[str, Any]

ALL_SCOPES = (
    "conversations.readonly",
    "conversations.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "contacts.readonly",
    "contacts.write",
    "phonenumbers.read",
    "numberpools.read",
    "locations.readonly",
)
ID_BLOCK = 1000
ACCEPTED_VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3", "legacy"})

# Marketplace app and version the sandbox's webhooks claim to come from (24-hex ObjectIds).
APP_ID = "5a4db0c5e000000000000a01"
VERSION_ID = "5a4db0c5e000000000000b01"
CONVERSATION_PROVIDER_ID = "5a4db0c5e000000000000c01"

_SCHEDULED_OK = "Scheduled message cancelled successfully."
_SCHEDULED_FAILED = "Failed cancel the scheduled message"


@dataclass(frozen=True, slots=True)
class AuthContext:
    token: str
    location_id: str  # "" for an agency (Company) token
    scopes: frozenset[str]
    user_type: str = "Location"  # a PIT is a location's; OAuth tokens say "Company" or "Location"
    company_id: str | None = None
    client_id: str | None = None  # the OAuth app's, for OAuth tokens
    rate_key: str = ""  # the rate-limit bucket: a PIT's own, else the app's per resource

    @property
    def bucket(self) -> str:
        return self.rate_key or self.token

    def require_location(self, location_id: str | None) -> None:
        if location_id is not None and location_id != self.location_id:
            raise forbidden_location()


@lru_cache(maxsize=4096)
def to_e164(raw: str) -> str | None:
    """``rules.phones.to_e164``, cached: the sandbox sees the same few numbers again and again."""
    return _to_e164(raw)


def sms_dnd_blocks(contact: JsonDict) -> bool:
    """GHL's (conservative) rule: global ``dnd`` or SMS DND active/permanent blocks SMS."""
    if contact.get("dnd") is True:
        return True
    sms = (contact.get("dndSettings") or {}).get("SMS") or {}
    return sms.get("status") in ("active", "permanent")


class SandboxEngine:
    def __init__(
        self,
        store: SandboxStore,
        clock: Clock,
        *,
        limits: Limits,
        signer: WebhookSigner,
        strict_version: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.limiter = RateLimiter(limits)
        self.faults = FaultInjector()
        self.carrier = carrier.CarrierOverrides()
        self.outbox = WebhookOutbox(signer)
        self.strict_version = strict_version
        self._counters: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._numbers: dict[str, list[NumberRow]] = {}
        self._tokens: dict[str, tuple[str, frozenset[str]] | None] = {}
        self._next_due: float | None = None
        self._due_known = False
        self.oauth = OAuthServer(self)

    # -- ids --------------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        """The next number of a kind of id. Numbers are reserved in blocks (hi/lo): the
        database only learns the block's end, so a restart continues after it and a fresh
        database always hands out 1, 2, 3..."""
        n = self._counters.get(kind)
        if n is None:
            stored = self.store.get_meta(f"seq:{kind}")
            n = int(stored) if stored is not None else 0
            self._reserved[kind] = n
        n += 1
        self._counters[kind] = n
        if n > self._reserved[kind]:
            self._reserved[kind] = n + ID_BLOCK - 1
            self.store.set_meta(f"seq:{kind}", str(self._reserved[kind]))
        return n

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A store transaction; after a rollback, id blocks are reserved afresh."""
        try:
            with self.store.transaction():
                yield
        except BaseException:
            self._reserved = dict.fromkeys(self._reserved, 0)  # re-persist on next use
            raise

    def new_id(self, kind: str) -> str:
        return make_id(kind, self._next(kind))

    def forget_caches(self) -> None:
        self._counters.clear()
        self._reserved.clear()
        self._numbers.clear()
        self._tokens.clear()
        self._due_known = False
        self.limiter.reset()
        self.oauth.forget()

    # -- lifecycle ----------------------------------------------------------------------

    def persist_keys(self) -> None:
        rsa_pem, ed_pem = self.outbox.signer.private_pems()
        with self.transaction():
            self.store.set_meta("webhook_key_rsa", rsa_pem)
            self.store.set_meta("webhook_key_ed25519", ed_pem)

    def is_seeded(self) -> bool:
        return self.store.get_location(DEMO_LOCATION_ID) is not None

    def seed(self) -> dict[str, str]:
        """Create the demo data unless it is there already; returns the seed ids."""
        if not self.is_seeded():
            seed(self)
        seed_agency(self)  # also into a sandbox file seeded before agencies existed
        return seed_ids()

    def reset(self, *, with_seed: bool = True) -> None:
        """Forget every contact, message, token and counter; keep keys and webhook targets."""
        self.oauth.store.wipe()
        self.store.wipe()
        self.forget_caches()
        self.faults.clear()
        self.carrier.clear()
        self.outbox.queue.clear()
        self.outbox.clear_events()
        self.outbox.log.clear()
        self.persist_keys()
        if with_seed:
            seed(self)
            seed_agency(self)

    def advance(self, seconds: float) -> int:
        """Move the clock forward and apply whatever became due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{self.clock!r} cannot be advanced; use FakeClock or OffsetClock")
        advance(seconds)
        return self.process_due()

    def state(self) -> JsonDict:
        now = self.clock.now()
        locations = []
        tokens = self.store.list_tokens()
        for location in self.store.list_locations():
            locations.append(
                {
                    "id": location["id"],
                    "name": location.get("name"),
                    "timezone": location.get("timezone"),
                    "tokens": [
                        {"token": t, "scopes": scopes}
                        for t, loc, scopes in tokens
                        if loc == location["id"]
                    ],
                    "numbers": [
                        {
                            "phoneNumber": n.phone,
                            "sms": n.sms,
                            "mms": n.mms,
                            "a2pRegistered": n.a2p_registered,
                            "isDefaultNumber": n.is_default,
                        }
                        for n in self.numbers(location["id"])
                    ],
                }
            )
        limits = self.limiter.limits
        return {
            "now": iso(now),
            "epoch": now,
            "seeded": self.is_seeded(),
            "seedIds": seed_ids() if self.is_seeded() else {},
            "locations": locations,
            "counts": {
                "contacts": self.store.count_contacts(),
                "messages": self.store.count_messages(),
            },
            "nextDueAt": self.store.next_due_at(),
            "rateLimits": {"burst": limits.burst, "window": limits.window, "daily": limits.daily},
            "faults": [f.as_json() for f in self.faults.pending()],
            "webhookTargets": [t.as_json() for t in self.outbox.targets],
            "pendingWebhooks": len(self.outbox.queue),
            "webhookLog": list(self.outbox.log)[-50:],
            "events": self.outbox.events[-50:],
        }

    # -- auth -------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> AuthContext:
        if not authorization:
            raise unauthorized("Invalid JWT")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Invalid JWT")
        if token in self._tokens:
            found = self._tokens[token]
        else:
            found = self._tokens[token] = self.store.get_token(token)
        if found is None:
            if token.startswith("pit-"):
                raise unauthorized("Invalid token: access token is invalid")
            oauth = self.oauth.access_token(token)  # an expired one raises 401 Invalid JWT
            if oauth is None:
                raise unauthorized("Invalid JWT")
            return AuthContext(
                token,
                oauth.location_id or "",
                frozenset(oauth.scopes.split()),
                user_type=oauth.user_type,
                company_id=oauth.company_id,
                client_id=oauth.client_id,
                rate_key=self.oauth.rate_key(oauth),
            )
        location_id, scopes = found
        return AuthContext(token, location_id, scopes)

    def create_location(self, location: JsonDict) -> JsonDict:
        """Insert a location (``id`` optional) and return it."""
        with self.transaction():
            data = dict(location)
            data.setdefault("id", self.new_id("location"))
            data.setdefault("name", "Sandbox location")
            data.setdefault("timezone", "America/New_York")
            data.setdefault("country", "US")
            self.store.insert_location(data)
        return data

    def create_token(
        self, location_id: str, scopes: Iterable[str] | None = None, token: str | None = None
    ) -> str:
        if self.store.get_location(location_id) is None:
            raise KeyError(f"no location {location_id!r}")
        with self.transaction():
            value = token or make_token(self._next("token"))
            self.store.insert_token(value, location_id, list(scopes or ALL_SCOPES))
        self._tokens.pop(value, None)
        return value

    def add_number(
        self,
        location_id: str,
        phone: str,
        *,
        friendly_name: str | None = None,
        sms: bool = True,
        mms: bool = True,
        voice: bool = True,
        a2p_registered: bool = True,
        is_default: bool = False,
        number_type: str = "local",
    ) -> NumberRow:
        e164 = to_e164(phone) or phone
        now = iso(self.clock.now())
        with self.transaction():
            n = self._next("number")
            data: JsonDict = {
                "phoneNumber": e164,
                "friendlyName": friendly_name or e164,
                "sid": "PN" + make_uuid("number", n).replace("-", ""),
                "countryCode": "US" if e164.startswith("+1") else "",
                "capabilities": {"voice": voice, "sms": sms, "mms": mms, "fax": False},
                "type": number_type,
                "isDefaultNumber": is_default,
                "linkedUser": None,
                "linkedRingAllUsers": [],
                "inboundCallService": None,
                "forwardingNumber": None,
                "isGroupConversationEnabled": False,
                "addressSid": None,
                "bundleSid": None,
                "dateAdded": now,
                "dateUpdated": now,
                "origin": "twilio",
            }
            row = NumberRow(location_id, e164, data, sms, mms, a2p_registered, is_default)
            self.store.insert_number(row)
        self._numbers.pop(location_id, None)
        return row

    def numbers(self, location_id: str) -> list[NumberRow]:
        cached = self._numbers.get(location_id)
        if cached is None:
            cached = self._numbers[location_id] = self.store.list_numbers(location_id)
        return cached

    # -- contacts -----------------------------------------------------------------------

    def build_contact(
        self, location_id: str, fields: JsonDict, contact_id: str | None = None
    ) -> JsonDict:
        """A new contact in GHL's shape; absent fields are left out, not null."""
        now = iso(self.clock.now())
        contact: JsonDict = {"id": contact_id or self.new_id("contact"), "locationId": location_id}
        contact.update(_contact_fields(fields))
        contact.setdefault("dnd", False)
        contact.setdefault("dndSettings", {})
        contact.setdefault("tags", [])
        contact.setdefault("type", "lead")
        contact.setdefault("source", "public api")
        contact.setdefault("customFields", [])
        contact.setdefault("additionalEmails", [])
        contact["dateAdded"] = now
        contact["dateUpdated"] = now
        _derive_names(contact)
        return contact

    def insert_contact(self, contact: JsonDict) -> JsonDict:
        with self.transaction():
            self.store.insert_contact(contact)
        return contact

    def update_contact(self, contact: JsonDict, fields: JsonDict) -> JsonDict:
        before_dnd = (contact.get("dnd"), contact.get("dndSettings"))
        updated = dict(contact)
        updated.update(_contact_fields(fields))
        updated["dateUpdated"] = iso(self.clock.now())
        _derive_names(updated)
        with self.transaction():
            self.store.update_contact(updated)
            if (updated.get("dnd"), updated.get("dndSettings")) != before_dnd:
                self._emit_dnd(updated)
        return updated

    def set_sms_dnd(self, contact: JsonDict, status: str, message: str) -> JsonDict:
        settings = dict(contact.get("dndSettings") or {})
        settings["SMS"] = {"status": status, "message": message}
        updated = dict(contact, dndSettings=settings, dateUpdated=iso(self.clock.now()))
        with self.transaction():
            self.store.update_contact(updated)
            self._emit_dnd(updated)
        return updated

    # -- conversations --------------------------------------------------------------------

    def conversation_for(self, location_id: str, contact_id: str) -> tuple[ConversationRow, bool]:
        """The contact's one SMS conversation, created if needed; (row, created)."""
        existing = self.store.conversation_for_contact(location_id, contact_id)
        if existing is not None:
            return existing, False
        now = self.clock.now()
        row = ConversationRow(
            0,
            self.new_id("conversation"),
            location_id,
            contact_id,
            0,
            True,
            False,
            False,
            None,
            None,
            None,
            None,
            now,
            now,
        )
        return self.store.insert_conversation(row), True

    # -- sending --------------------------------------------------------------------------

    def send_sms(
        self,
        ctx: AuthContext,
        contact: JsonDict,
        *,
        body: str,
        attachments: list[str],
        from_number: str | None,
        to_number: str | None,
        scheduled_at: float | None,
    ) -> MessageRow:
        """Queue an SMS/MMS; validation of the request body has already happened."""
        ctx.require_location(contact["locationId"])
        recipient = to_number or contact.get("phone")
        if not recipient:
            raise bad_request("Missing phone number")
        if sms_dnd_blocks(contact):
            raise bad_request("Cannot send message as DND is active for SMS.")
        numbers = self.numbers(ctx.location_id)
        sender_row: NumberRow | None
        if from_number:
            wanted = to_e164(from_number) or from_number
            sender_row = next((n for n in numbers if n.phone == wanted), None)
            sender_phone: str | None = wanted
        else:
            sender_row = next((n for n in numbers if n.is_default), numbers[0] if numbers else None)
            sender_phone = None if sender_row is None else sender_row.phone
        sender = (
            None
            if sender_row is None
            else carrier.Sender(sender_row.sms, sender_row.mms, sender_row.a2p_registered)
        )
        to_e = to_e164(recipient) or recipient
        override = self.carrier.get(to_e)
        outcome = carrier.plan(
            to_e,
            sender,
            has_media=bool(attachments),
            override=None if override is None else override.outcome,
        )
        slow = 0.0 if override is None else override.delay
        now = self.clock.now()
        scheduled = scheduled_at is not None and scheduled_at > now
        with self.transaction():
            conversation_id = self.store.conversation_id_for_contact(ctx.location_id, contact["id"])
            if conversation_id is None:
                conversation_id = self.conversation_for(ctx.location_id, contact["id"])[0].id
            row = MessageRow(
                0,
                self.new_id("message"),
                ctx.location_id,
                conversation_id,
                contact["id"],
                "outbound",
                body,
                attachments,
                "scheduled" if scheduled else "pending",
                None,
                outcome.status,
                outcome.code,
                sender_phone,
                to_e,
                "api",
                now,
                scheduled_at if scheduled else None,
                scheduled_at if scheduled else now + carrier.SENT_AFTER + slow,
            )
            row = self.store.insert_message(row)
            if not scheduled:
                self.store.record_last_message(
                    conversation_id,
                    body=body,
                    type_=TYPE_SMS,
                    direction="outbound",
                    date=now,
                    unread_delta=0,
                )
            self._emit_outbound(row)
            self._note_due(row.next_at)
        return row

    def cancel_scheduled(self, ctx: AuthContext, message_id: str) -> JsonDict:
        with self.transaction():
            message = self.store.get_message(message_id)
            if message is not None:
                ctx.require_location(message.location_id)
            if message is None or message.status != "scheduled":
                return {"status": 404, "message": _SCHEDULED_FAILED}
            self.store.set_message_status(
                message_id, status="cancelled", error_code=None, next_at=None
            )
            self._due_known = False
            cancelled = self.store.get_message(message_id)
            assert cancelled is not None
            self._emit_outbound(cancelled)
        return {"status": 200, "message": _SCHEDULED_OK}

    # -- the carrier's progress -------------------------------------------------------------

    def _note_due(self, at: float | None) -> None:
        if at is not None and self._due_known and (self._next_due is None or at < self._next_due):
            self._next_due = at

    def process_due(self, now: float | None = None) -> int:
        """Apply every transition whose time has come; returns how many were applied."""
        if now is None:
            now = self.clock.now()
        if self._due_known and (self._next_due is None or self._next_due > now):
            return 0
        applied = 0
        with self.transaction():
            while True:
                for message in self.store.due_messages(now):
                    self._advance(message, now)
                    applied += 1
                next_due = self.store.next_due_at()
                if next_due is None or next_due > now:
                    break
            self._next_due = next_due
            self._due_known = True
        return applied

    def _advance(self, message: MessageRow, now: float) -> None:
        at = message.next_at
        assert at is not None
        if message.status == "scheduled":
            planned_status, planned_code = message.planned_status, message.planned_code
            contact = self.store.get_contact(message.contact_id)
            if contact is not None and sms_dnd_blocks(contact):
                planned_status, planned_code = "failed", "21610"
            updated = _moved(message, "pending", None, at + carrier.SENT_AFTER)
            updated = replace(updated, planned_status=planned_status, planned_code=planned_code)
            self.store.set_message_status(
                message.id,
                status=updated.status,
                error_code=None,
                next_at=updated.next_at,
                planned_status=planned_status,
                planned_code=planned_code,
                replan=True,
            )
            self.store.record_last_message(
                message.conversation_id,
                body=message.body,
                type_=TYPE_SMS,
                direction="outbound",
                date=at,
                unread_delta=0,
            )
            self._emit_outbound(updated, now=now)
            return
        outcome = carrier.Outcome(
            cast(carrier.FinalStatus, message.planned_status or "delivered"),
            message.planned_code,
        )
        step = carrier.next_step(message.status, outcome)
        if step is None:  # nothing left to do; clear the stray due time
            self.store.set_message_status(
                message.id, status=message.status, error_code=message.error_code, next_at=None
            )
            return
        status = step[1]
        failed = status in ("failed", "undelivered")
        follow = None if failed or status == "delivered" else carrier.next_step(status, outcome)
        updated = _moved(
            message,
            status,
            outcome.code if failed else None,
            None if follow is None else at + follow[0],
        )
        self.store.set_message_status(
            message.id, status=status, error_code=updated.error_code, next_at=updated.next_at
        )
        self._emit_outbound(updated, now=now)
        if failed and updated.error_code in AUTO_DND_CODES:
            contact = self.store.get_contact(message.contact_id)
            if contact is not None and not sms_dnd_blocks(contact):
                entry = lookup(updated.error_code)
                title = entry.title if entry is not None else "carrier error"
                self.set_sms_dnd(contact, "active", f"Carrier error {updated.error_code}: {title}")

    # -- inbound ----------------------------------------------------------------------------

    def reply(
        self, contact_id: str, body: str, attachments: list[str] | None = None
    ) -> tuple[MessageRow, KeywordKind | None]:
        """The contact texts us: store it, count it unread, fire webhooks, honour keywords."""
        contact = self.store.get_contact(contact_id)
        if contact is None:
            raise KeyError(f"no contact {contact_id!r}")
        phone = contact.get("phone")
        if not phone:
            raise ValueError(f"contact {contact_id!r} has no phone number to reply from")
        location_id = contact["locationId"]
        now = self.clock.now()
        with self.transaction():
            conversation, _ = self.conversation_for(location_id, contact_id)
            our_number = self._number_last_used(conversation.id, location_id)
            row = MessageRow(
                0,
                self.new_id("message"),
                location_id,
                conversation.id,
                contact_id,
                "inbound",
                body,
                list(attachments or []),
                "delivered",
                None,
                None,
                None,
                phone,
                our_number,
                None,
                now,
                None,
                None,
            )
            row = self.store.insert_message(row)
            self.store.record_last_message(
                conversation.id,
                body=body,
                type_=TYPE_SMS,
                direction="inbound",
                date=now,
                unread_delta=1,
            )
            self._emit_inbound(row)
            updated_conversation = self.store.get_conversation(conversation.id)
            assert updated_conversation is not None
            self.emit_unread(updated_conversation)
            kind = classify_keyword(body)
            sms_status = ((contact.get("dndSettings") or {}).get("SMS") or {}).get("status")
            if kind is KeywordKind.OPT_OUT and sms_status != "permanent":
                self.set_sms_dnd(contact, "permanent", f"Contact replied {body.strip()!r}")
            elif kind is KeywordKind.OPT_IN and sms_status in ("active", "permanent"):
                self.set_sms_dnd(contact, "inactive", f"Contact replied {body.strip()!r}")
        return row, kind

    def _number_last_used(self, conversation_id: str, location_id: str) -> str | None:
        for message in self.store.list_messages(conversation_id, before_seq=None, limit=20):
            if message.direction == "outbound" and message.from_number:
                return message.from_number
        numbers = self.numbers(location_id)
        default = next((n for n in numbers if n.is_default), numbers[0] if numbers else None)
        return None if default is None else default.phone

    # -- webhook events ---------------------------------------------------------------------

    def _envelope(self, event_type: str, location_id: str, now: float | None) -> JsonDict:
        return _envelope(
            event_type, location_id, self.clock.now() if now is None else now, self._next("webhook")
        )

    def _emit_outbound(self, message: MessageRow, now: float | None = None) -> None:
        # Three of these per send: built lazily, only when someone looks or listens.
        at = self.clock.now() if now is None else now
        n = self._next("webhook")
        self.outbox.emit_lazy("OutboundMessage", lambda: _outbound_payload(message, at, n), at)

    def _emit_inbound(self, message: MessageRow) -> None:
        payload = self._envelope("InboundMessage", message.location_id, None)
        payload.update(
            {
                "attachments": message.attachments,
                "body": message.body,
                "contactId": message.contact_id,
                "contentType": "text/plain",
                "conversationId": message.conversation_id,
                "dateAdded": iso(message.date_added),
                "direction": "inbound",
                "messageType": "SMS",
                "status": "delivered",
                "messageId": message.id,
                "from": message.from_number,
                "to": message.to_number,
                "conversationProviderId": CONVERSATION_PROVIDER_ID,
            }
        )
        self.outbox.emit(payload, self.clock.now())

    def emit_unread(self, conversation: ConversationRow) -> None:
        payload = self._envelope("ConversationUnreadUpdate", conversation.location_id, None)
        payload.update(
            {
                "id": conversation.id,
                "contactId": conversation.contact_id,
                "unreadCount": conversation.unread_count,
                "inbox": conversation.inbox,
                "starred": conversation.starred,
                "deleted": conversation.deleted,
            }
        )
        self.outbox.emit(payload, self.clock.now())

    def _emit_dnd(self, contact: JsonDict) -> None:
        payload = self._envelope("ContactDndUpdate", contact["locationId"], None)
        fields = {k: v for k, v in contact.items() if k not in ("locationId", "type")}
        payload.update(fields)
        payload["type"] = "ContactDndUpdate"
        payload.setdefault("attachments", [])
        self.outbox.emit(payload, self.clock.now())


def _envelope(event_type: str, location_id: str, at: float, n: int) -> JsonDict:
    return {
        "type": event_type,
        "locationId": location_id,
        "appId": APP_ID,
        "versionId": VERSION_ID,
        "timestamp": iso(at),
        "webhookId": make_uuid("webhook", n),
    }


def _outbound_payload(message: MessageRow, at: float, n: int) -> JsonDict:
    payload = _envelope("OutboundMessage", message.location_id, at, n)
    payload.update(
        {
            "attachments": message.attachments,
            "body": message.body,
            "contactId": message.contact_id,
            "contentType": "text/plain",
            "conversationId": message.conversation_id,
            "dateAdded": iso(message.date_added),
            "direction": "outbound",
            "messageType": "SMS",
            "messageTypeId": 2,
            "messageTypeString": TYPE_SMS,
            "messageId": message.id,
            "status": message.status,
            "source": message.source or "api",
            "from": message.from_number,
            "to": message.to_number,
            "conversationProviderId": CONVERSATION_PROVIDER_ID,
        }
    )
    if message.status in ("failed", "undelivered"):
        error = error_json(message.error_code)
        if error is not None:
            payload["error"] = error
    return payload


def _moved(message: MessageRow, status: str, code: str | None, next_at: float | None) -> MessageRow:
    """``message`` with a new status (dataclasses.replace is several times slower)."""
    m = message
    return MessageRow(
        m.seq, m.id, m.location_id, m.conversation_id, m.contact_id, m.direction, m.body,
        m.attachments, status, code, m.planned_status, m.planned_code, m.from_number,
        m.to_number, m.source, m.date_added, m.scheduled_at, next_at,
    )  # fmt: skip


_CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "timezone",
    "dnd",
    "dndSettings",
    "inboundDndSettings",
    "tags",
    "customFields",
    "source",
    "dateOfBirth",
    "country",
    "companyName",
    "assignedTo",
    "gender",
)


def _contact_fields(fields: JsonDict) -> JsonDict:
    out: JsonDict = {}
    for key in _CONTACT_FIELDS:
        if key not in fields:
            continue
        value = fields[key]
        if key == "phone" and isinstance(value, str):
            value = to_e164(value) or value
        if key == "email" and isinstance(value, str):
            out["emailLowerCase"] = value.lower()
        if key == "customFields" and isinstance(value, list):
            value = [_custom_field(f) for f in value if isinstance(f, dict)]
        if key == "dndSettings" and isinstance(value, dict):
            value = {k: dict(v) for k, v in value.items() if isinstance(v, dict)}
        out[key] = value
    # null clears a field; GHL leaves absent fields out of its answers
    return out


def _custom_field(field: JsonDict) -> JsonDict:
    """``{id, field_value}`` in, ``{id, value}`` out, as GET /contacts/{id} shows them."""
    out: JsonDict = {"id": field.get("id")}
    value = field.get("field_value", field.get("value"))
    if value is not None:
        out["value"] = value
    return out


def _derive_names(contact: JsonDict) -> None:
    for key in [k for k, v in contact.items() if v is None]:
        del contact[key]
    first, last = contact.get("firstName"), contact.get("lastName")
    if isinstance(first, str):
        contact["firstNameLowerCase"] = first.lower()
    if isinstance(last, str):
        contact["lastNameLowerCase"] = last.lower()
    full = " ".join(p for p in (first, last) if isinstance(p, str) and p)
    if full:
        contact.setdefault("name", full)
        contact["fullNameLowerCase"] = full.lower()
    elif isinstance(contact.get("name"), str):
        contact["fullNameLowerCase"] = contact["name"].lower()
    if "email" not in contact:
        contact.pop("emailLowerCase", None)
