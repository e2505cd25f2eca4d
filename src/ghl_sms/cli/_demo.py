"""``ghl-sms demo``: the whole product, step by step, against a fresh embedded sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import httpx2
from rich.console import Console
from rich.markup import escape
from starlette.applications import Starlette

from ghl_sms._clock import FakeClock, utc_datetime
from ghl_sms.cli._app import AppContext, run_async, to_jsonable
from ghl_sms.cli._render import (
    console,
    render_check,
    render_inbox,
    render_send,
    render_status,
    render_thread,
)
from ghl_sms.ghl import GhlClient
from ghl_sms.ops.errors import PreflightBlocked
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.models import Note
from ghl_sms.ops.service import SendRequest, SmsService
from ghl_sms.webhooks import WebhookKeys, create_app

__all__ = ["demo"]

MENU_URL = "https://images.example.com/sandbox-dental/welcome.jpg"


def demo_start(now: datetime) -> float:
    """Today (or the next weekday) at 18:00 UTC: mid-afternoon across the US, so the
    demo always runs inside the quiet-hours window and reads the same every time."""
    start = now.astimezone(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
    while start.weekday() >= 5:  # Saturday, Sunday
        start += timedelta(days=1)
    return start.timestamp()


@dataclass
class Step:
    number: int
    title: str
    command: str
    ok: bool = True
    result: Any = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "title": self.title,
            "command": self.command,
            "ok": self.ok,
            "result": to_jsonable(self.result),
            "notes": self.notes,
        }


class Demo:
    def __init__(
        self,
        service: SmsService,
        sandbox: Any,
        clock: FakeClock,
        out: Console | None,
        receiver: Starlette | None = None,
    ):
        self.service = service
        self.receiver = receiver
        self.sandbox = sandbox
        self.clock = clock
        self.out = out
        self.steps: list[Step] = []
        ids = sandbox.seed_ids
        self.ava, self.ben, self.chloe = ids["reachable"], ids["sms_dnd"], ids["email_dnd"]
        self.eve, self.finn = ids["landline"], ids["invalid"]

    async def deliver_webhooks(self) -> int:
        """Flush the sandbox's signed webhooks to the in-process receiver and apply them."""
        attempts = int(await self.sandbox.deliver_webhooks())
        if self.receiver is not None:
            await self.receiver.state.processor.drain()
        return attempts

    def say(self, text: str) -> None:
        if self.out is not None:
            self.out.print(text)

    async def step(
        self, title: str, command: str, why: str, body: Callable[[Step], Awaitable[None]]
    ) -> None:
        step = Step(len(self.steps) + 1, title, command)
        self.steps.append(step)
        self.say(f"\n[bold]{step.number}. {title}[/]")
        self.say(f"[dim]{escape(why)}[/]")
        self.say(f"[cyan]$ {escape(command)}[/]")
        await body(step)

    async def run(self) -> list[Step]:
        s = self.service
        out = self.out

        async def find_ava(step: Step) -> None:
            page = await s.contacts.search("Ava Reed")
            found = [c for c in page.contacts if c.name == "Ava Reed"]
            step.ok = len(found) == 1 and found[0].id == self.ava
            step.result = page
            if found:
                self.ava = found[0].id  # the id every later step texts
                self.say(f"Found {escape(found[0].name)} ({found[0].phone}): id {found[0].id}")

        async def check_ava(step: Step) -> None:
            step.result = await s.check(contact_id=self.ava, text="Hi Ava!")
            if out:
                render_check(out, step.result)

        async def send_sms(step: Step) -> None:
            step.result = await s.send(
                SendRequest(
                    contact_id=self.ava,
                    text="Hi Ava, your cleaning is booked for Thursday at 3pm. "
                    "Reply STOP to unsubscribe. - Sandbox Dental",
                )
            )
            if out:
                render_send(out, step.result)

        async def send_mms(step: Step) -> None:
            step.result = await s.send(
                SendRequest(
                    contact_id=self.ava,
                    text="Here is how to find us:",
                    attachments=[MENU_URL],
                )
            )
            if out:
                render_send(out, step.result)

        async def threading(step: Step) -> None:
            first = self.steps[2].result
            sent = await s.send(SendRequest(contact_id=self.ava, text="See you Thursday!"))
            same = sent.conversation_id == first.conversation_id
            step.notes.append(f"same conversation as step 3: {same}")
            step.ok = same
            step.result = await s.thread(contact_id=self.ava)
            if out:
                render_thread(out, step.result)

        async def schedule(step: Step) -> None:
            at = utc_datetime(self.clock) + timedelta(hours=2)
            scheduled = await s.send(
                SendRequest(contact_id=self.ava, text="Reminder: cleaning at 3pm.", scheduled_at=at)
            )
            if out:
                render_send(out, scheduled)
            listed = [r.message_id for r in s.scheduled()]
            cancelled = await s.cancel(scheduled.message_id or "")
            step.ok = scheduled.message_id in listed and cancelled.cancelled
            step.result = {"scheduled": scheduled, "cancelled": cancelled}
            self.say(f"$ ghl-sms cancel --sandbox {scheduled.message_id}")
            self.say(f"Cancelled scheduled message {cancelled.message_id}.")

        async def blocked(step: Step, **request: Any) -> None:
            try:
                await s.send(SendRequest(text="Flash sale: 20% off whitening!", **request))
                step.ok = False
                step.notes.append("expected the preflight to block this send")
            except PreflightBlocked as refused:
                step.result = {"outcome": "blocked", "notes": Note.all_of(refused.verdict)}
                reasons = " ".join(r.message for r in refused.reasons)
                self.say(f"[red]Not sent[/] (the CLI exits 3): {escape(reasons)}")

        async def dnd(step: Step) -> None:
            await blocked(step, contact_id=self.ben)

        async def invalid(step: Step) -> None:
            await blocked(step, to="+1 000 555 0100")

        async def reply(step: Step) -> None:
            self.clock.advance(120)
            await self.sandbox.reply(self.ava, "Thanks! Can I bring my son too?")
            self.say("[dim](in the sandbox, Ava texts back)[/]")
            step.result = await s.inbox(unread_only=True)
            step.ok = any(c.contact_id == self.ava for c in step.result.conversations)
            if out:
                render_inbox(out, step.result)

        async def stop(step: Step) -> None:
            await s.send(SendRequest(contact_id=self.chloe, text="Your x-rays are ready."))
            await self.sandbox.reply(self.chloe, "STOP")
            delivered = await self.deliver_webhooks()
            self.say(
                f"[dim](Chloe replies STOP. The sandbox posts {delivered} signed webhooks to "
                "the receiver, which verifies them and records her opt-out in the ledger)[/]"
            )
            await blocked(step, contact_id=self.chloe)

        async def statuses(step: Step) -> None:
            landline = await s.send(SendRequest(contact_id=self.eve, text="Your refill is ready."))
            self.clock.advance(30)
            self.sandbox.advance(0)
            await self.deliver_webhooks()
            self.say(
                "[dim](30 seconds later the carrier has reported back, and GHL's "
                "OutboundMessage webhooks have brought the statuses to the ledger)[/]"
            )
            delivered = await s.status(self.steps[2].result.message_id)
            failed = await s.status(landline.message_id or "")
            step.ok = (delivered.status, failed.status) == ("delivered", "undelivered")
            step.result = {"delivered": delivered, "failed": failed}
            if out:
                self.say(f"$ ghl-sms status --sandbox {delivered.message_id}")
                render_status(out, delivered)
                self.say(f"$ ghl-sms status --sandbox {failed.message_id}")
                render_status(out, failed)

        await self.step(
            "Find a contact by name",
            'ghl-sms contacts --sandbox "Ava Reed"',
            "People are texted by name: search GHL's contacts, then use the id it gives.",
            find_ava,
        )
        ava_cmd = f"--contact {self.ava}"
        await self.step(
            "Check a contact before texting",
            f"ghl-sms check --sandbox {ava_cmd}",
            "The preflight: DND, opt-outs, a valid number, quiet hours in her time zone.",
            check_ava,
        )
        await self.step(
            "Send an SMS",
            f'ghl-sms send --sandbox {ava_cmd} "Hi Ava, your cleaning is booked..."',
            "Recorded in the local ledger first, so a retry can never text her twice.",
            send_sms,
        )
        await self.step(
            "Send an MMS (SMS plus a picture)",
            f'ghl-sms send --sandbox {ava_cmd} --media {MENU_URL} "Here is how to find us:"',
            "MMS is type SMS with attachments; the sending number must be MMS-capable.",
            send_mms,
        )
        await self.step(
            "A second message threads into the same conversation",
            f"ghl-sms thread --sandbox {ava_cmd}",
            "GHL keeps one SMS conversation per contact.",
            threading,
        )
        await self.step(
            "Schedule a message, then cancel it",
            f'ghl-sms send --sandbox {ava_cmd} --at 2h "Reminder: cleaning at 3pm."',
            "Scheduled sends are tracked in the ledger until they go out or are cancelled.",
            schedule,
        )
        await self.step(
            "A contact with SMS DND is blocked by the preflight",
            f'ghl-sms send --sandbox --contact {self.ben} "Flash sale..."',
            "Nothing reaches GHL: no charge, no complaint.",
            dnd,
        )
        await self.step(
            "An invalid number is refused",
            'ghl-sms send --sandbox --to "+1 000 555 0100" "Flash sale..."',
            "phonenumbers' is_valid_number decides, before any contact is created.",
            invalid,
        )
        await self.step(
            "A reply shows up in the inbox",
            "ghl-sms inbox --sandbox --unread",
            "Two-way: replies arrive in the conversation with an unread count.",
            reply,
        )
        await self.step(
            "A STOP reply blocks the next send",
            f'ghl-sms send --sandbox --contact {self.chloe} "Flash sale..."',
            "Opt-out keywords reach ghl-sms by verified webhook (or `inbox --watch`); the next "
            "send is refused before any API call, even before GHL has switched DND on.",
            stop,
        )
        await self.step(
            "Delivery statuses, with a failure explained",
            f'ghl-sms send --sandbox --contact {self.eve} "Your refill is ready."',
            "The carrier reports back: delivered, or undelivered with a code and what to do.",
            statuses,
        )
        return self.steps


async def run_demo(out: Console | None, clock: FakeClock) -> list[Step]:
    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(clock=clock)  # fresh, in memory
    client = GhlClient(
        token=sandbox.token,
        location_id=sandbox.location_id,
        base_url=sandbox.base_url,
        transport=sandbox.transport(),
        clock=clock,
    )
    ledger = Ledger.open(":memory:", clock)
    service = SmsService(client, ledger, clock=clock)
    public = sandbox.webhook_public_keys()
    receiver = create_app(
        keys=WebhookKeys.load(ed25519=[public["ed25519"]], rsa=[public["rsa"]]),
        ledger=ledger,
        events=service.events,
        clock=clock,
    )
    sandbox.add_webhook_target(
        "http://receiver.demo/webhooks/ghl", transport=httpx2.ASGITransport(app=receiver)
    )
    try:
        return await Demo(service, sandbox, clock, out, receiver).run()
    finally:
        await client.aclose()
        ledger.close()
        sandbox.close()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable log of steps.")
@click.pass_obj
def demo(obj: AppContext | None, as_json: bool) -> None:
    """Walk through ghl-sms against a fresh embedded sandbox (no GHL account needed).

    Checks a contact, sends an SMS and an MMS, threads a reply, schedules and cancels,
    shows the preflight blocking DND, invalid and opted-out recipients, and follows
    delivery statuses, including a failure explained. Nothing leaves this machine.

    \b
    Examples:
      ghl-sms demo
      ghl-sms demo --json > demo-log.json
    """
    app = obj if isinstance(obj, AppContext) else AppContext()
    started = time.perf_counter()
    clock = FakeClock(demo_start(datetime.fromtimestamp(app.clock.now(), UTC)))
    out = None if as_json else console()
    if out is not None:
        out.print("[bold]ghl-sms demo[/]: a fresh GHL sandbox, in memory, with the demo "
                  "location 'Sandbox Dental' and a dozen contacts.")  # fmt: skip
    steps = run_async(lambda: run_demo(out, clock))
    ok = all(step.ok for step in steps)
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        click.echo(json.dumps({"ok": ok, "seconds": seconds,
                               "steps": [s.as_json() for s in steps]}, indent=2))  # fmt: skip
    elif out is not None:
        verdict = "[green]all steps behaved as expected[/]" if ok else "[red]some steps failed[/]"
        out.print(f"\nDone in {seconds:.1f} s: {verdict}. Try any command with --sandbox, or "
                  "set GHL_TOKEN and GHL_LOCATION_ID to text for real.")  # fmt: skip
        out.print("Watch the same story in a browser: [bold]ghl-sms console --sandbox --open[/] "
                  "(the phones, the conversations, campaigns live).")  # fmt: skip
    if not ok:
        raise click.exceptions.Exit(1)
