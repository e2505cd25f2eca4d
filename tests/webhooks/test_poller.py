"""Without webhooks: the poller finds replies and statuses and applies them like webhooks."""

from __future__ import annotations

import pytest

from ghl_sms.ops.errors import PreflightBlocked
from ghl_sms.ops.service import SendRequest
from ghl_sms.webhooks.poller import InboxPoller
from support.stack import Stack, stack

pytestmark = pytest.mark.anyio


def poller(s: Stack) -> InboxPoller:
    return InboxPoller(s.client, s.ledger, s.service.events, clock=s.clock)


async def test_a_reply_is_found_once_and_recorded_in_the_ledger() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        await s.service.send(SendRequest(contact_id=ava, text="Coming tonight?"))
        watcher = poller(s)
        assert (await watcher.poll_once())[0] == []
        s.clock.advance(30)
        reply = await s.sandbox.reply(ava, "Yes, at 7")
        inbound, _ = await watcher.poll_once()
        assert [(m.message_id, m.body, m.contact_name) for m in inbound] == [
            (reply.message_id, "Yes, at 7", "Ava Reed")
        ]
        assert s.service.events.has_inbound(reply.message_id)
        s.clock.advance(10)
        assert (await watcher.poll_once())[0] == []


async def test_a_polled_stop_blocks_the_next_send_like_a_webhook_would() -> None:
    async with stack() as s:
        chloe = s.ids("email_dnd")
        await s.service.send(SendRequest(contact_id=chloe, text="Your x-rays are ready"))
        watcher = poller(s)
        await watcher.poll_once()
        s.clock.advance(60)
        await s.sandbox.reply(chloe, "Stop.")
        inbound, _ = await watcher.poll_once()
        assert [m.keyword for m in inbound] == ["opt_out"]
        opt_out = s.ledger.opt_out_for(s.client.location_id, contact_id=chloe)
        assert opt_out is not None and opt_out.source == "keyword"
        with pytest.raises(PreflightBlocked):
            await s.service.send(SendRequest(contact_id=chloe, text="Flash sale"))


async def test_replies_older_than_the_lookback_are_not_replayed() -> None:
    async with stack() as s:
        ava = s.ids("reachable")
        await s.sandbox.reply(ava, "an old reply")
        s.clock.advance(7200)
        assert (await poller(s).poll_once())[0] == []


async def test_statuses_of_recent_sends_are_refreshed_and_known_afterwards() -> None:
    async with stack() as s:
        ok = await s.service.send(SendRequest(contact_id=s.ids("reachable"), text="Hi"))
        bad = await s.service.send(SendRequest(contact_id=s.ids("landline"), text="Hi"))
        s.clock.advance(30)
        _, statuses = await poller(s).poll_once()
        assert {(c.message_id, c.status, c.error_code) for c in statuses} == {
            (ok.message_id, "delivered", None),
            (bad.message_id, "undelivered", "30006"),
        }
        known = s.service.known_status(bad.message_id or "")
        assert known is not None and known.known_from == "poll" and known.advice


async def test_a_polled_carrier_opt_out_is_recorded() -> None:
    async with stack() as s:
        gina = s.ids("opted_out")
        await s.service.send(SendRequest(contact_id=gina, text="Hello Gina"))
        s.clock.advance(30)
        await poller(s).poll_once()
        opt_out = s.ledger.opt_out_for(s.client.location_id, contact_id=gina)
        assert opt_out is not None and opt_out.source == "carrier"
