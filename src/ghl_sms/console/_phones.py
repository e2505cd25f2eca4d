"""The sandbox's phones: each contact's handset, its replies, and the carrier's behaviour.

Read straight from the sandbox's store (what the handset "received"), never through the
GHL API, so watching the phones spends none of the location's request budget. Replies
go through ``Sandbox.reply``: the same inbound path as a real text (signed webhooks into
the console's receiver, then the ledger).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghl_sms.console._http import BadInput, core_of, guarded, json_body, ok, problem
from ghl_sms.rules.carrier_errors import lookup
from ghl_sms.rules.keywords import classify_keyword

if TYPE_CHECKING:
    from ghl_sms.sandbox import Sandbox
    from ghl_sms.sandbox.store import MessageRow

__all__ = ["routes"]

MAX_REPLY = 1600
_SHOWN_PER_PHONE = 40
# A handset never sees a message that has not left (scheduled) or never will (cancelled).
_NOT_ON_THE_PHONE = frozenset({"scheduled", "cancelled"})


def _sandbox(request: Request) -> Sandbox:
    sandbox = core_of(request).sandbox
    if sandbox is None:
        raise BadInput("The phones exist only in the sandbox: run `ghl-sms console --sandbox`.")
    return sandbox


def _message(row: MessageRow) -> dict[str, Any]:
    entry = lookup(row.error_code) if row.error_code else None
    return {
        "id": row.id,
        "direction": row.direction,
        "body": row.body,
        "attachments": list(row.attachments),
        "status": row.status,
        "error_code": row.error_code,
        "explanation": entry.title if entry else None,
        "advice": entry.advice if entry else None,
        "at": row.date_added,
        "keyword": _keyword(row.body) if row.direction == "inbound" else None,
    }


def _keyword(body: str) -> str | None:
    kind = classify_keyword(body)
    return None if kind is None else kind.value


def handsets(sandbox: Sandbox, location_id: str) -> list[dict[str, Any]]:
    store = sandbox.store
    overrides = {o["phone"]: o for o in sandbox.engine.carrier.as_json()}
    phones = []
    for contact in store.find_contacts(location_id):
        phone = contact.get("phone")
        if not phone:
            continue  # no number, no handset
        conversation = store.conversation_for_contact(location_id, contact["id"])
        rows = (
            store.list_messages(conversation.id, before_seq=None, limit=_SHOWN_PER_PHONE)
            if conversation is not None
            else []
        )
        sms_dnd = ((contact.get("dndSettings") or {}).get("SMS") or {}).get("status")
        name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
        phones.append(
            {
                "contact_id": contact["id"],
                "name": name or contact.get("contactName") or phone,
                "phone": phone,
                "sms_dnd": sms_dnd if sms_dnd in ("active", "permanent") else None,
                "carrier": overrides.get(phone),
                "messages": [
                    _message(r) for r in reversed(rows) if r.status not in _NOT_ON_THE_PHONE
                ],
            }
        )
    return phones


@guarded
async def list_phones(request: Request) -> Response:
    sandbox = _sandbox(request)
    sandbox.process_due()
    return ok(
        {
            "phones": handsets(sandbox, core_of(request).location_id),
            "faults": [f.as_json() for f in sandbox.engine.faults.pending()],
            "carrier": sandbox.engine.carrier.as_json(),
        }
    )


@guarded
async def reply(request: Request) -> Response:
    sandbox = _sandbox(request)
    body = (await json_body(request)).get("body")
    if not isinstance(body, str) or not body.strip():
        raise BadInput("Type a reply first.")
    if len(body) > MAX_REPLY:
        raise BadInput(f"A text has at most {MAX_REPLY} characters; this one has {len(body)}.")
    contact_id = request.path_params["contact_id"]
    if sandbox.contact(contact_id) is None:
        return problem(404, "not_found", f"No contact {contact_id} in the sandbox.")
    sent = await sandbox.reply(contact_id, body)
    # Into the ledger before answering: a STOP blocks the very next send.
    await core_of(request).settle_sandbox()
    return ok({"message_id": sent.message_id, "keyword": sent.keyword})


@guarded
async def carrier(request: Request) -> Response:
    sandbox = _sandbox(request)
    overrides = sandbox.engine.carrier
    if request.method == "DELETE":
        overrides.clear(request.query_params.get("phone"))
    else:
        body = await json_body(request)
        phone, outcome = body.get("phone"), body.get("outcome", "delivered")
        code, delay = body.get("code") or None, body.get("delay", 0)
        if not isinstance(phone, str) or not isinstance(outcome, str):
            raise BadInput("Pick a phone and what the carrier does with its texts.")
        if isinstance(delay, str):
            try:
                delay = float(delay or 0)
            except ValueError:
                raise BadInput("The delay is a number of seconds.") from None
        try:
            overrides.set(phone, outcome, None if code is None else str(code), delay)
        except ValueError as exc:
            raise BadInput(str(exc).capitalize() + ".") from None
    return ok({"carrier": overrides.as_json()})


@guarded
async def faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.clear_faults()
    else:
        body = await json_body(request)
        count = body.get("count", 1)
        try:
            sandbox.engine.faults.add(
                str(body.get("kind")), int(count), body.get("path") or None, body.get("method")
            )
        except (ValueError, TypeError) as exc:
            raise BadInput(str(exc).capitalize() + ".") from None
    return ok({"faults": [f.as_json() for f in sandbox.engine.faults.pending()]})


routes = [
    Route("/api/phones", list_phones, methods=["GET"]),
    Route("/api/phones/carrier", carrier, methods=["POST", "DELETE"]),
    Route("/api/phones/faults", faults, methods=["POST", "DELETE"]),
    Route("/api/phones/{contact_id}/reply", reply, methods=["POST"]),
]
