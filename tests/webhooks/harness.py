"""A fake GHL that signs deliveries with test keys, and the receiver under test, in-process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from starlette.applications import Starlette

from ghl_sms._clock import FakeClock
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.webhooks import OptOutHook, OptOutNotice, WebhookKeys, create_app
from ghl_sms.webhooks.signing import encode_event, event, signed_headers

LOC = "ve9EPM428h8vShlRW1KT"


@dataclass(frozen=True)
class KeyPairs:
    ed25519: ed25519.Ed25519PrivateKey
    rsa: rsa.RSAPrivateKey

    @property
    def public(self) -> WebhookKeys:
        return WebhookKeys(ed25519=(self.ed25519.public_key(),), rsa=(self.rsa.public_key(),))


def key_pairs() -> KeyPairs:
    # 2048-bit RSA keeps generation fast; GHL's own key is 4096-bit.
    return KeyPairs(
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


Scheme = Literal["ed25519", "rsa", "both", "none"]


@dataclass
class FakeGhl:
    """Builds and signs deliveries shaped like GHL's, and posts them to a receiver."""

    keys: KeyPairs
    clock: FakeClock
    counter: int = 0

    def payload(self, event_type: str, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        envelope = {
            "now": fields.pop("now", self.clock.now()),
            "webhook_id": fields.pop("webhook_id", f"wh-{self.counter}"),
            "location_id": fields.pop("location_id", LOC),
        }
        return event(event_type, fields, **envelope)

    def sign(
        self, body: bytes, scheme: Scheme = "ed25519", keys: KeyPairs | None = None
    ) -> dict[str, str]:
        keys = keys or self.keys
        return signed_headers(
            body,
            ed25519=keys.ed25519 if scheme in ("ed25519", "both") else None,
            rsa=keys.rsa if scheme in ("rsa", "both") else None,
        )

    def inbound(self, text: str, **fields: Any) -> dict[str, Any]:
        n = self.counter + 1
        defaults = {
            "attachments": [],
            "body": text,
            "contactId": "ct-ava",
            "contentType": "text/plain",
            "conversationId": "cv-ava",
            "dateAdded": "2026-01-01T00:00:00.000Z",
            "direction": "inbound",
            "messageType": "SMS",
            "status": "delivered",
            "messageId": f"in-{n}",
            "from": "+1 (415) 555-0100",
            "to": "+14155550190",
        }
        return self.payload("InboundMessage", **{**defaults, **fields})

    def outbound(self, message_id: str, status: str, **fields: Any) -> dict[str, Any]:
        defaults = {
            "attachments": [],
            "body": "Hello",
            "contactId": "ct-ava",
            "conversationId": "cv-ava",
            "dateAdded": "2026-01-01T00:00:00.000Z",
            "direction": "outbound",
            "messageType": "SMS",
            "messageTypeId": 2,
            "messageTypeString": "TYPE_SMS",
            "messageId": message_id,
            "status": status,
            "source": "api",
            "from": "+14155550190",
            "to": "+14155550100",
        }
        return self.payload("OutboundMessage", **{**defaults, **fields})

    def dnd(self, *, sms: str | None, dnd: bool | None = False, **fields: Any) -> dict[str, Any]:
        settings = {} if sms is None else {"SMS": {"status": sms, "message": "m", "code": "101"}}
        defaults: dict[str, Any] = {
            "id": "ct-ava",
            "phone": "+14155550100",
            "dndSettings": settings,
        }
        if dnd is not None:
            defaults["dnd"] = dnd
        return self.payload("ContactDndUpdate", **{**defaults, **fields})


@dataclass
class Receiver:
    """The app under test with its stores, driven in-process (no socket)."""

    app: Starlette
    ledger: Ledger
    events: EventLog
    clock: FakeClock
    ghl: FakeGhl
    opt_outs: list[OptOutNotice] = field(default_factory=list)

    async def post(
        self,
        body: bytes,
        headers: dict[str, str],
        *,
        path: str = "/webhooks/ghl",
    ) -> httpx2.Response:
        transport = httpx2.ASGITransport(app=self.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://receiver") as client:
            return await client.post(path, content=body, headers=headers)

    async def deliver(
        self, payload: dict[str, Any], scheme: Scheme = "ed25519", *, drain: bool = True
    ) -> httpx2.Response:
        body = encode_event(payload)
        response = await self.post(body, self.ghl.sign(body, scheme))
        if drain:
            await self.app.state.processor.drain()
        return response

    def stored(self) -> dict[str, int]:
        """Row counts of every table the receiver writes."""
        tables = (
            "webhook_seen", "webhook_inbox", "inbound_messages", "message_status_events",
            "contact_dnd_events", "conversation_unread", "opt_outs",
        )  # fmt: skip
        db = self.ledger.db
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def make_receiver(
    ghl_keys: KeyPairs,
    *,
    clock: FakeClock | None = None,
    ledger: Ledger | None = None,
    on_opt_out: OptOutHook | None = None,
    record_opt_outs: bool = True,
    keys: WebhookKeys | None = None,
    **app_options: Any,
) -> Receiver:
    clock = clock or FakeClock()
    ledger = ledger or Ledger.open(":memory:", clock)
    events = EventLog(ledger.db, clock)
    notices: list[OptOutNotice] = []

    async def remember(notice: OptOutNotice) -> None:
        notices.append(notice)

    hook = on_opt_out or (remember if record_opt_outs else None)
    app = create_app(
        keys=keys if keys is not None else ghl_keys.public,
        ledger=ledger,
        events=events,
        clock=clock,
        on_opt_out=hook,
        **app_options,
    )
    return Receiver(app, ledger, events, clock, FakeGhl(ghl_keys, clock), notices)
