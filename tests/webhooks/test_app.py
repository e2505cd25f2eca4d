"""The receiver end to end, in-process: what it answers, what it stores, what it refuses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import ConfigError
from ghl_sms.ops.ledger import Ledger, SendState
from ghl_sms.webhooks import OptOutNotice, WebhookKeys, create_app
from ghl_sms.webhooks.signing import encode_event
from webhooks.harness import LOC, KeyPairs, Receiver, make_receiver

AVA_PHONE = "+14155550100"
NOTHING = {
    "webhook_seen": 0,
    "webhook_inbox": 0,
    "inbound_messages": 0,
    "message_status_events": 0,
    "contact_dnd_events": 0,
    "conversation_unread": 0,
    "opt_outs": 0,
}

pytestmark = pytest.mark.anyio


def sent_message(ledger: Ledger, message_id: str = "msg-1") -> None:
    """A send ghl-sms made: recorded in the ledger, accepted by GHL as ``message_id``."""
    record = ledger.claim(
        idempotency_key=f"k-{message_id}",
        key_origin="caller",
        location_id=LOC,
        contact_id="ct-ava",
        to_number=AVA_PHONE,
        text="Hello",
    ).record
    ledger.mark_sent(record.id, message_id=message_id, conversation_id="cv-ava", status="pending")


# --- refusals: 401 and nothing stored ---------------------------------------------------


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
async def test_a_forged_delivery_gets_401_and_nothing_is_stored(
    receiver: Receiver, forger_keys: KeyPairs, scheme: str
) -> None:
    body = encode_event(receiver.ghl.inbound("STOP"))
    headers = receiver.ghl.sign(body, scheme, keys=forger_keys)  # type: ignore[arg-type]
    response = await receiver.post(body, headers)
    await receiver.app.state.processor.drain()
    assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})
    assert receiver.stored() == NOTHING


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
async def test_a_tampered_delivery_gets_401_and_nothing_is_stored(
    receiver: Receiver, scheme: str
) -> None:
    body = encode_event(receiver.ghl.inbound("Thanks!"))
    headers = receiver.ghl.sign(body, scheme)  # type: ignore[arg-type]
    response = await receiver.post(body.replace(b"Thanks!", b"STOP"), headers)
    await receiver.app.state.processor.drain()
    assert (response.status_code, response.json()) == (401, {"error": "bad_signature"})
    assert receiver.stored() == NOTHING


async def test_an_unsigned_delivery_gets_401_and_nothing_is_stored(receiver: Receiver) -> None:
    body = encode_event(receiver.ghl.inbound("STOP"))
    response = await receiver.post(body, {"content-type": "application/json"})
    assert (response.status_code, response.json()) == (401, {"error": "missing_signature"})
    assert receiver.stored() == NOTHING


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
@pytest.mark.parametrize("offset", [-301.0, 301.0])
async def test_a_stale_delivery_gets_401_and_nothing_is_stored(
    receiver: Receiver, scheme: str, offset: float
) -> None:
    payload = receiver.ghl.inbound("STOP", now=receiver.clock.now() + offset)
    response = await receiver.deliver(payload, scheme)  # type: ignore[arg-type]
    assert (response.status_code, response.json()) == (401, {"error": "stale"})
    assert receiver.stored() == NOTHING


@pytest.mark.parametrize("scheme", ["ed25519", "rsa"])
async def test_a_replayed_delivery_gets_401_and_changes_nothing(
    receiver: Receiver, scheme: str
) -> None:
    body = encode_event(receiver.ghl.inbound("Hi there"))
    headers = receiver.ghl.sign(body, scheme)  # type: ignore[arg-type]
    first = await receiver.post(body, headers)
    await receiver.app.state.processor.drain()
    stored = receiver.stored()
    receiver.clock.advance(120)
    again = await receiver.post(body, headers)
    await receiver.app.state.processor.drain()
    assert first.status_code == 200
    assert (again.status_code, again.json()) == (401, {"error": "duplicate"})
    assert receiver.stored() == stored


async def test_a_replay_after_the_window_is_stale_even_once_its_id_is_forgotten(
    receiver: Receiver,
) -> None:
    body = encode_event(receiver.ghl.inbound("Hi there"))
    headers = receiver.ghl.sign(body)
    assert (await receiver.post(body, headers)).status_code == 200
    receiver.clock.advance(3600)
    again = await receiver.post(body, headers)
    assert (again.status_code, again.json()) == (401, {"error": "stale"})
    assert not receiver.events.seen("wh-1")  # pruned: the window alone keeps it out


async def test_the_same_id_under_the_other_scheme_is_still_a_replay(receiver: Receiver) -> None:
    payload = receiver.ghl.inbound("Hi there")
    assert (await receiver.deliver(payload, "ed25519")).status_code == 200
    assert (await receiver.deliver(payload, "rsa")).json() == {"error": "duplicate"}


async def test_a_signed_body_that_is_not_an_event_gets_401(receiver: Receiver) -> None:
    body = b'{"hello": "world"}'
    response = await receiver.post(body, receiver.ghl.sign(body))
    assert (response.status_code, response.json()) == (401, {"error": "malformed"})
    assert receiver.stored() == NOTHING


async def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(ghl_keys: KeyPairs) -> None:
    receiver = make_receiver(ghl_keys, max_body_bytes=2048)
    body = encode_event(receiver.ghl.inbound("x" * 4096))
    response = await receiver.post(body, receiver.ghl.sign(body))
    assert response.status_code == 413
    assert receiver.stored() == NOTHING
    small = encode_event(receiver.ghl.inbound("STOP"))
    assert (await receiver.post(small, receiver.ghl.sign(small))).status_code == 200


async def test_only_post_is_accepted(receiver: Receiver) -> None:
    import httpx2

    transport = httpx2.ASGITransport(app=receiver.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://r") as client:
        assert (await client.get("/webhooks/ghl")).status_code == 405
        assert (await client.get("/healthz")).json() == {"ok": True}


def test_a_receiver_without_any_key_is_a_config_error(ghl_keys: KeyPairs) -> None:
    with pytest.raises(ConfigError):
        make_receiver(ghl_keys, keys=WebhookKeys())


# --- the answer comes first -------------------------------------------------------------


async def test_the_answer_comes_before_processing_and_the_delivery_waits_in_the_inbox(
    receiver: Receiver,
) -> None:
    response = await receiver.deliver(receiver.ghl.inbound("STOP"), drain=False)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert [i.event_type for i in receiver.events.inbox()] == ["InboundMessage"]
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is None
    await receiver.app.state.processor.drain()
    assert receiver.events.inbox() == []
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None


async def test_unknown_event_types_are_acknowledged_and_ignored(receiver: Receiver) -> None:
    payload = receiver.ghl.payload("ContactTagUpdate", id="ct-ava", tags=["vip"])
    response = await receiver.deliver(payload)
    assert (response.status_code, response.json()) == (200, {"ok": True, "ignored": True})
    assert receiver.stored() == {**NOTHING, "webhook_seen": 1}


async def test_a_slow_opt_out_hook_does_not_hold_up_the_next_delivery(ghl_keys: KeyPairs) -> None:
    release = anyio.Event()
    called: list[str | None] = []

    async def slow_hook(notice: OptOutNotice) -> None:
        called.append(notice.contact_id)
        await release.wait()

    receiver = make_receiver(ghl_keys, on_opt_out=slow_hook)
    processor = receiver.app.state.processor
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(processor.run)
            await receiver.deliver(receiver.ghl.inbound("STOP"), drain=False)
            while not called:
                await anyio.sleep(0)
            await receiver.deliver(
                receiver.ghl.inbound("STOP", contactId="ct-ben", **{"from": "+14155550111"}),
                drain=False,
            )
            while len(called) < 2:
                await anyio.sleep(0)
            assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ben") is not None
            assert processor.pending == 2  # both hooks still running
            release.set()
            await processor.drain()
            tg.cancel_scope.cancel()
    assert called == ["ct-ava", "ct-ben"]


async def test_a_failing_opt_out_hook_is_logged_and_the_opt_out_stands(
    ghl_keys: KeyPairs, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(notice: OptOutNotice) -> None:
        raise RuntimeError("GHL is down")

    receiver = make_receiver(ghl_keys, on_opt_out=broken)
    assert (await receiver.deliver(receiver.ghl.inbound("STOP"))).status_code == 200
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None
    assert "a follow-up after a webhook failed" in caplog.text


# --- inbound messages and keywords ------------------------------------------------------


async def test_an_inbound_text_is_stored(receiver: Receiver) -> None:
    payload = receiver.ghl.inbound("See you at 5", attachments=["https://x/y.jpg"])
    await receiver.deliver(payload)
    [stored] = receiver.events.inbound_messages(LOC, contact_id="ct-ava")
    assert stored.message_id == payload["messageId"]
    assert stored.webhook_id == payload["webhookId"]
    assert (stored.conversation_id, stored.from_number, stored.to_number) == (
        "cv-ava",
        AVA_PHONE,
        "+14155550190",
    )
    assert (stored.body, stored.attachments, stored.message_type) == (
        "See you at 5",
        ("https://x/y.jpg",),
        "SMS",
    )
    assert stored.date_added == 1_767_225_600.0
    assert stored.keyword is None
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is None


@pytest.mark.parametrize("text", ["STOP", "Stop.", "please remove me", "UNSUBSCRIBE", "opt-out"])
async def test_an_opt_out_keyword_records_an_opt_out_at_once_and_calls_the_hook(
    receiver: Receiver, text: str
) -> None:
    payload = receiver.ghl.inbound(text)
    await receiver.deliver(payload)
    opt_out = receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE)
    assert opt_out is not None
    assert (opt_out.contact_id, opt_out.source, opt_out.detail) == ("ct-ava", "keyword", text)
    assert receiver.opt_outs == [
        OptOutNotice(
            location_id=LOC,
            contact_id="ct-ava",
            phone=AVA_PHONE,
            message_id=payload["messageId"],
            body=text,
            webhook_id=payload["webhookId"],
        )
    ]
    [stored] = receiver.events.inbound_messages(LOC)
    assert stored.keyword == "opt_out"


async def test_an_opt_in_keyword_lifts_the_opt_out(receiver: Receiver) -> None:
    await receiver.deliver(receiver.ghl.inbound("STOP"))
    receiver.clock.advance(60)
    await receiver.deliver(receiver.ghl.inbound("START"))
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE, contact_id="ct-ava") is None
    assert [m.keyword for m in receiver.events.inbound_messages(LOC)] == ["opt_in", "opt_out"]


async def test_help_is_recorded_but_opts_nobody_out(receiver: Receiver) -> None:
    await receiver.deliver(receiver.ghl.inbound("HELP"))
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is None
    assert receiver.events.inbound_messages(LOC)[0].keyword == "help"
    assert receiver.opt_outs == []


async def test_an_email_reply_saying_unsubscribe_is_not_an_sms_opt_out(receiver: Receiver) -> None:
    payload = receiver.ghl.inbound(
        "Thanks! <br> To unsubscribe click here",
        messageType="Email",
        **{"from": "Ava <ava@example.com>", "to": ["shop@example.com"]},
    )
    await receiver.deliver(payload)
    assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ava") is None
    [stored] = receiver.events.inbound_messages(LOC)
    assert (stored.keyword, stored.from_number, stored.to_number) == (
        None,
        "Ava <ava@example.com>",
        None,
    )


async def test_a_custom_provider_sms_is_read_for_keywords(receiver: Receiver) -> None:
    payload = receiver.ghl.inbound(
        "stop", messageType="Custom", messageTypeString="TYPE_CUSTOM_PROVIDER_SMS"
    )
    await receiver.deliver(payload)
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None


async def test_the_same_message_delivered_again_under_a_new_id_is_applied_once(
    receiver: Receiver,
) -> None:
    await receiver.deliver(receiver.ghl.inbound("STOP", messageId="in-x"))
    await receiver.deliver(receiver.ghl.inbound("START", messageId="in-y"))
    await receiver.deliver(receiver.ghl.inbound("STOP", messageId="in-x"))  # GHL again
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is None
    assert len(receiver.events.inbound_messages(LOC)) == 2
    assert len(receiver.opt_outs) == 1


# --- outbound status changes ------------------------------------------------------------


async def test_status_changes_of_our_sends_reach_the_ledger(receiver: Receiver) -> None:
    sent_message(receiver.ledger)
    await receiver.deliver(receiver.ghl.outbound("msg-1", "sent"))
    receiver.clock.advance(5)
    await receiver.deliver(receiver.ghl.outbound("msg-1", "delivered"))
    record = receiver.ledger.by_message_id("msg-1")
    assert record is not None
    assert (record.state, record.status) == (SendState.SENT, "delivered")
    assert [e.status for e in receiver.events.status_events("msg-1")] == ["sent", "delivered"]


@pytest.mark.parametrize(
    "fields",
    [
        {"error": {"code": "30007", "type": "carrier", "message": "Message filtered"}},
        {"error": "Carrier violation (30007): Message filtered"},
        {"errorCode": 30007, "errorMessage": "Message filtered"},
        {"meta": {"error": {"code": 30007, "message": "Message filtered"}}},
    ],
    ids=["error-dto", "error-string", "flat", "meta"],
)
async def test_a_failure_carries_its_error_code_into_the_ledger(
    receiver: Receiver, fields: dict[str, object]
) -> None:
    sent_message(receiver.ledger)
    await receiver.deliver(receiver.ghl.outbound("msg-1", "failed", **fields))
    record = receiver.ledger.by_message_id("msg-1")
    assert record is not None
    assert (record.status, record.error_code) == ("failed", "30007")
    assert record.error_message is not None and "Message filtered" in record.error_message
    latest = receiver.events.latest_status("msg-1")
    assert latest is not None and (latest.status, latest.error_code) == ("failed", "30007")


async def test_a_carrier_opt_out_failure_records_a_local_opt_out(receiver: Receiver) -> None:
    sent_message(receiver.ledger)
    await receiver.deliver(
        receiver.ghl.outbound("msg-1", "failed", error={"code": "21610", "message": "unsub"})
    )
    opt_out = receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE)
    assert opt_out is not None and opt_out.source == "carrier"
    assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ava") is not None


async def test_a_late_report_of_an_earlier_status_does_not_undo_a_later_one(
    receiver: Receiver,
) -> None:
    sent_message(receiver.ledger)
    earlier = receiver.ghl.outbound("msg-1", "sent")
    receiver.clock.advance(5)
    await receiver.deliver(receiver.ghl.outbound("msg-1", "delivered"))
    await receiver.deliver(earlier)  # made first, arrives last
    record = receiver.ledger.by_message_id("msg-1")
    assert record is not None and record.status == "delivered"


async def test_a_status_that_arrives_before_the_send_is_recorded_waits_in_the_event_log(
    receiver: Receiver,
) -> None:
    await receiver.deliver(receiver.ghl.outbound("msg-1", "delivered"))
    assert receiver.ledger.by_message_id("msg-1") is None
    latest = receiver.events.latest_status("msg-1")
    assert latest is not None
    assert (latest.status, latest.source, latest.location_id) == ("delivered", "webhook", LOC)


async def test_an_outbound_event_without_a_status_changes_nothing(receiver: Receiver) -> None:
    payload = receiver.ghl.outbound("msg-1", "x")
    del payload["status"]
    assert (await receiver.deliver(payload)).status_code == 200
    assert receiver.events.status_events("msg-1") == []


# --- DND --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sms", "dnd"), [("active", False), ("permanent", None), ("inactive", True)]
)
async def test_dnd_switched_on_in_ghl_records_an_opt_out(
    receiver: Receiver, sms: str, dnd: bool | None
) -> None:
    await receiver.deliver(receiver.ghl.dnd(sms=sms, dnd=dnd))
    opt_out = receiver.ledger.opt_out_for(LOC, contact_id="ct-ava")
    assert opt_out is not None
    assert (opt_out.phone, opt_out.source) == (AVA_PHONE, "webhook_dnd")
    [change] = receiver.events.dnd_changes(LOC, "ct-ava")
    assert (change.sms_status, change.dnd, change.blocks_sms) == (sms, dnd, True)


async def test_dnd_switched_off_lifts_only_what_dnd_switched_on(receiver: Receiver) -> None:
    await receiver.deliver(receiver.ghl.dnd(sms="active"))
    receiver.clock.advance(10)
    await receiver.deliver(receiver.ghl.dnd(sms="inactive"))
    assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ava") is None

    await receiver.deliver(receiver.ghl.inbound("STOP"))
    receiver.clock.advance(10)
    await receiver.deliver(receiver.ghl.dnd(sms="active"))
    receiver.clock.advance(10)
    await receiver.deliver(receiver.ghl.dnd(sms="inactive"))
    opt_out = receiver.ledger.opt_out_for(LOC, contact_id="ct-ava")
    assert opt_out is not None and opt_out.source == "keyword"


async def test_a_dnd_change_that_arrives_late_is_stored_but_not_applied(receiver: Receiver) -> None:
    switched_on = receiver.ghl.dnd(sms="active")
    receiver.clock.advance(10)
    await receiver.deliver(receiver.ghl.dnd(sms="inactive"))
    await receiver.deliver(switched_on)
    assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ava") is None
    assert [c.sms_status for c in receiver.events.dnd_changes(LOC, "ct-ava")] == [
        "active",
        "inactive",
    ]


async def test_a_dnd_update_that_says_nothing_about_sms_changes_nothing(
    receiver: Receiver,
) -> None:
    await receiver.deliver(receiver.ghl.dnd(sms="active"))
    receiver.clock.advance(10)
    await receiver.deliver(receiver.ghl.dnd(sms=None, dnd=None))
    assert receiver.ledger.opt_out_for(LOC, contact_id="ct-ava") is not None


# --- unread counts ----------------------------------------------------------------------


async def test_unread_counts_are_kept_per_conversation_newest_first(receiver: Receiver) -> None:
    older = receiver.ghl.payload(
        "ConversationUnreadUpdate", id="cv-ava", contactId="ct-ava", unreadCount=1,
        inbox=True, starred=False, deleted=False,
    )  # fmt: skip
    receiver.clock.advance(5)
    await receiver.deliver(
        receiver.ghl.payload(
            "ConversationUnreadUpdate", id="cv-ava", contactId="ct-ava", unreadCount=0,
            inbox=False, starred=True, deleted=False,
        )
    )  # fmt: skip
    await receiver.deliver(older)
    state = receiver.events.unread("cv-ava")
    assert state is not None
    assert (state.unread_count, state.inbox, state.starred, state.deleted, state.contact_id) == (
        0,
        False,
        True,
        False,
        "ct-ava",
    )


# --- durability and several receivers --------------------------------------------------


async def test_a_delivery_whose_processing_failed_is_kept_and_retried_later(
    receiver: Receiver,
) -> None:
    receiver.ledger.db.execute("DROP TABLE conversation_unread")  # processing will fail
    payload = receiver.ghl.payload("ConversationUnreadUpdate", id="cv-ava", unreadCount=2)
    assert (await receiver.deliver(payload)).status_code == 200
    [kept] = receiver.events.inbox()
    assert kept.attempts == 1 and kept.last_error is not None
    assert "conversation_unread" in kept.last_error
    await receiver.deliver(receiver.ghl.inbound("STOP"))  # the next one is not held up
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None


async def test_deliveries_a_dead_receiver_left_are_taken_up_after_their_lease(
    tmp_path: Path, ghl_keys: KeyPairs
) -> None:
    clock = FakeClock()
    path = tmp_path / "ledger.db"
    dead = make_receiver(ghl_keys, clock=clock, ledger=Ledger.open(path, clock))
    assert (await dead.deliver(dead.ghl.inbound("STOP"), drain=False)).status_code == 200
    dead.ledger.close()  # it died before processing

    clock.advance(61)
    survivor = make_receiver(ghl_keys, clock=clock, ledger=Ledger.open(path, clock))
    assert survivor.app.state.processor.recover() == 1
    await survivor.app.state.processor.drain()
    assert survivor.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None
    assert survivor.events.inbox() == []
    survivor.ledger.close()


async def test_receivers_sharing_a_file_refuse_each_others_replays(
    tmp_path: Path, ghl_keys: KeyPairs
) -> None:
    clock = FakeClock()
    path = tmp_path / "ledger.db"
    one = make_receiver(ghl_keys, clock=clock, ledger=Ledger.open(path, clock))
    two = make_receiver(ghl_keys, clock=clock, ledger=Ledger.open(path, clock))
    body = encode_event(one.ghl.inbound("Hi"))
    headers = one.ghl.sign(body)
    assert (await one.post(body, headers)).status_code == 200
    assert (await two.post(body, headers)).json() == {"error": "duplicate"}
    one.ledger.close()
    two.ledger.close()


async def test_a_busy_store_answers_429_so_ghl_retries(tmp_path: Path, ghl_keys: KeyPairs) -> None:
    clock = FakeClock()
    path = tmp_path / "ledger.db"
    ledger = Ledger.open(path, clock)
    ledger.db.execute("PRAGMA busy_timeout=0")
    receiver = make_receiver(ghl_keys, clock=clock, ledger=ledger)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        response = await receiver.deliver(receiver.ghl.inbound("STOP"), drain=False)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 429 and response.headers["retry-after"] == "600"
    assert receiver.stored() == NOTHING
    ledger.close()


def test_with_its_lifespan_the_app_processes_on_its_own(ghl_keys: KeyPairs) -> None:
    clock = FakeClock()
    # TestClient runs the app in a thread of its own.
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    receiver = make_receiver(ghl_keys, clock=clock, ledger=Ledger(db, clock))
    body = encode_event(receiver.ghl.inbound("STOP"))
    with TestClient(receiver.app) as client:
        response = client.post("/webhooks/ghl", content=body, headers=receiver.ghl.sign(body))
        assert response.status_code == 200
    # Leaving the lifespan drains what was queued.
    assert receiver.ledger.opt_out_for(LOC, phone=AVA_PHONE) is not None
    assert receiver.opt_outs[0].contact_id == "ct-ava"


def test_create_app_wires_its_parts_into_state(ghl_keys: KeyPairs) -> None:
    receiver = make_receiver(ghl_keys)
    assert receiver.app.state.events is receiver.events
    assert receiver.app.state.ledger is receiver.ledger
    assert json.loads(encode_event({"a": "é"})) == {"a": "é"}
    assert create_app  # the public factory
