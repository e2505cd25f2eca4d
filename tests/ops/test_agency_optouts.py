"""Opt-outs are per sub-account: a STOP texted to one sub-account does not block the same
number in another, and blocks it in the same one from any process sharing the ledger.

Two sub-accounts of the sandbox's agency, each texted through an OAuth location token,
one ledger file opened by several handles (as several ghl-sms processes would).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.accounts import TokenManager, TokenStore
from ghl_sms.ops.errors import PreflightBlocked
from ghl_sms.ops.events import EventLog
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest
from ghl_sms.sandbox import Sandbox
from ghl_sms.webhooks import Dispatcher, WebhookEvent
from support.agency import log_in, service
from support.contract import Target
from support.stack import WEEKDAY_NOON

pytestmark = pytest.mark.anyio

LOCATION_1 = "sandboxDemoLocation1"
LOCATION_2 = "sandboxDemoLocation2"
AVA = "sbxCtReachable000001"  # sandboxDemoLocation1's reachable contact


class CountingTransport(httpx2.AsyncBaseTransport):
    """The sandbox's transport, noting each request's path and bearer token."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(
            (f"{request.method} {request.url.path}", request.headers.get("authorization", ""))
        )
        return await self.inner.handle_async_request(request)


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    clock = FakeClock(WEEKDAY_NOON)
    sandbox = Sandbox(clock=clock)
    yield Target("asgi", sandbox.base_url, CountingTransport(sandbox.transport()), clock, sandbox)
    sandbox.close()


def text(to: str, words: str) -> SendRequest:
    return SendRequest(to=to, text=words, transactional=True)


def receive_webhooks(sandbox: Sandbox, ledger: Ledger, clock: FakeClock) -> int:
    """What the webhook receiver does with the sandbox's InboundMessage events."""
    dispatcher = Dispatcher(ledger=ledger, events=EventLog(ledger.db, clock))
    inbound = [e for e in sandbox.webhook_events if e["type"] == "InboundMessage"]
    for payload in inbound:
        event = WebhookEvent(
            type=payload["type"],
            payload=payload,
            timestamp=clock.now(),
            webhook_id=payload.get("webhookId"),
            location_id=payload.get("locationId"),
        )
        dispatcher.handle(event)
    return len(inbound)


async def test_a_stop_blocks_its_own_sub_account_from_any_process_and_no_other(
    target: Target, tmp_path: Path
) -> None:
    sandbox, clock, counting = target.sandbox, target.clock, target.transport
    assert sandbox is not None and isinstance(clock, FakeClock)
    assert isinstance(counting, CountingTransport)
    store = TokenStore(tmp_path / "oauth.json")
    await log_in(target, store)
    path = tmp_path / "ledger.db"
    ledgers = [Ledger.open(path, clock) for _ in range(3)]  # three handles, one file
    first, second, other_process = ledgers
    ava_phone = str((sandbox.contact(AVA) or {})["phone"])
    try:
        async with TokenManager(store, clock=clock, transport=counting) as tokens:
            async with (
                service(target, tokens, LOCATION_1, first) as here,
                service(target, tokens, LOCATION_2, second) as there,
            ):
                # The same person is a contact of both sub-accounts (created through GHL's API).
                twin = await there.client.upsert_contact(phone=ava_phone, first_name="Ava")
                assert twin.contact.id != AVA
                assert (await here.send(text(ava_phone, "Table for two?"))).outcome == "sent"
                assert (await there.send(text(ava_phone, "Class at six?"))).outcome == "sent"

                await sandbox.reply(AVA, "STOP")  # to sandboxDemoLocation1's number
                assert receive_webhooks(sandbox, first, clock) == 1
                assert first.opt_out_for(LOCATION_1, phone=ava_phone) is not None
                assert second.opt_out_for(LOCATION_2, phone=ava_phone) is None

                # The other sub-account still texts the number, by phone and by contact.
                assert (await there.send(text(ava_phone, "Class moved to 7"))).outcome == "sent"
                by_contact = SendRequest(
                    contact_id=twin.contact.id, text="See you", transactional=True
                )
                assert (await there.send(by_contact)).outcome == "sent"

            # Another process on the same ledger file, with its own login handle.
            async with (
                TokenManager(store, clock=clock, transport=counting) as own_tokens,
                service(target, own_tokens, LOCATION_1, other_process) as again,
            ):
                counting.requests.clear()
                for request in (
                    text(ava_phone, "One more thing"),
                    SendRequest(contact_id=AVA, text="One more thing", transactional=True),
                ):
                    with pytest.raises(PreflightBlocked) as info:
                        await again.send(request)
                    assert [str(r.code) for r in info.value.reasons] == ["opted_out"]
                assert counting.requests == []  # refused before any request to GHL
    finally:
        for ledger in ledgers:
            ledger.close()

    # What GHL holds, whatever the ledger believes.
    bodies = {
        loc: [row[0] for row in sandbox.store.conn.execute(
            "SELECT body FROM messages WHERE location_id = ? AND direction = 'outbound' "
            "ORDER BY seq", (loc,)).fetchall()]
        for loc in (LOCATION_1, LOCATION_2)
    }  # fmt: skip
    assert bodies == {
        LOCATION_1: ["Table for two?"],
        LOCATION_2: ["Class at six?", "Class moved to 7", "See you"],
    }
