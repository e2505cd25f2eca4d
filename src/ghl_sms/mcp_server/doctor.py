"""``ghl-sms doctor``: check a real setup before anyone wires it into an assistant.

Every check is a request that changes nothing. GHL checks a request in a fixed order:
token (401), ``Version`` header, scope (401 "The token is not authorized for this
scope."), location (403), then the body (400/422) and the resource (400/404). So an
answer from any step after the scope check proves the scope is granted; the write
probes send bodies GHL must refuse, or address ids that do not exist, so they can
never text anyone or change a record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ghl_sms._clock import Clock
from ghl_sms.ghl import (
    AuthenticationError,
    GhlClient,
    GhlError,
    InvalidRequestError,
    Location,
    NotFoundError,
    PermissionDeniedError,
    PhoneNumberList,
    TransportError,
)
from ghl_sms.ops.errors import LedgerUnusable
from ghl_sms.ops.ledger import Ledger

__all__ = ["SCOPES", "Check", "ScopeProbe", "check_ledger", "diagnose"]

# An id no GHL record has: GHL ids are 20 alphanumerics, this one is 21.
PROBE_ID = "ghlSmsDoctorProbe0000"

Status = Literal["ok", "warn", "fail", "skip"]
Answer = Literal["granted", "missing", "bad_token", "wrong_location", "unknown"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class ScopeProbe:
    scope: str
    needed_for: str
    probe: Callable[[GhlClient], Awaitable[Any]]


async def _raw(client: GhlClient, method: str, path: str, module: str, body: Any) -> Any:
    # The one request ghl-sms makes outside the client's typed methods: a body GHL must
    # refuse, with the same pacing, headers and error mapping as every other call.
    return await client.raw_request(method, path, module=module, json=body)


async def _send_probe(client: GhlClient) -> Any:
    # No recipient, no text and a type GHL doesn't have: refused (422) after the scope check.
    return await _raw(
        client, "POST", "/conversations/messages", "conversations", {"type": "DoctorProbe"}
    )


async def _conversation_write_probe(client: GhlClient) -> Any:
    body = {"locationId": client.location_id}
    return await _raw(client, "PUT", f"/conversations/{PROBE_ID}", "conversations", body)


async def _contact_write_probe(client: GhlClient) -> Any:
    return await _raw(client, "PUT", f"/contacts/{PROBE_ID}", "contacts", {})


SCOPES: tuple[ScopeProbe, ...] = (
    ScopeProbe("conversations/message.write", "sending and cancelling texts", _send_probe),
    ScopeProbe(
        "conversations/message.readonly",
        "message status and threads",
        lambda c: c.get_message(PROBE_ID),
    ),
    ScopeProbe(
        "conversations.readonly",
        "the inbox and finding a contact's conversation",
        lambda c: c.search_conversations(limit=1),
    ),
    ScopeProbe("conversations.write", "starting conversations", _conversation_write_probe),
    ScopeProbe(
        "contacts.readonly", "DND and phone checks before a send", lambda c: c.get_contact(PROBE_ID)
    ),
    ScopeProbe("contacts.write", "texting a number that has no contact yet", _contact_write_probe),
    ScopeProbe(
        "phonenumbers.read", "finding the sending numbers", lambda c: c.list_phone_numbers()
    ),
    ScopeProbe(
        "locations.readonly",
        "the location's time zone, for quiet hours",
        lambda c: c.get_location(),
    ),
)


def _token_fix() -> str:
    return (
        "In GHL, open the sub-account: Settings > Private Integrations > Create new "
        f"integration with the scopes {', '.join(p.scope for p in SCOPES)}; set the token it "
        "shows (pit-...) as GHL_TOKEN."
    )


def _scope_fix(scope: str) -> str:
    return (
        f"In GHL: Settings > Private Integrations > edit this integration > Scopes: enable "
        f"{scope}, save, and use the token it shows as GHL_TOKEN. (An OAuth app: add {scope} "
        "to the app's scopes and reinstall it in this sub-account.)"
    )


def _classify(error: GhlError) -> Answer:
    text = " ".join(error.messages).lower()
    if isinstance(error, AuthenticationError):
        if "not authorized for this scope" in text:
            return "missing"
        return "bad_token"  # invalid, expired, or a token of the wrong kind
    if isinstance(error, PermissionDeniedError):
        return "wrong_location"
    if isinstance(error, InvalidRequestError | NotFoundError):
        return "granted"  # refused after the scope check: the body, or an id that isn't there
    return "unknown"


@dataclass
class _Findings:
    answers: dict[str, Answer] = field(default_factory=dict)
    errors: dict[str, GhlError] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    unreachable: TransportError | None = None


async def _probe_all(client: GhlClient) -> _Findings:
    found = _Findings()
    for probe in SCOPES:
        try:
            found.results[probe.scope] = await probe.probe(client)
            found.answers[probe.scope] = "granted"
        except NotFoundError as exc:
            found.answers[probe.scope] = "granted"
            found.errors[probe.scope] = exc  # e.g. "Phone system is not connected"
        except TransportError as exc:
            found.unreachable = exc  # no point asking again
            return found
        except GhlError as exc:
            found.answers[probe.scope] = _classify(exc)
            found.errors[probe.scope] = exc
    return found


def _token_check(found: _Findings) -> Check:
    if found.unreachable is not None:
        return Check(
            "connection",
            "fail",
            f"GHL could not be reached: {found.unreachable}",
            "Check the network, and GHL_BASE_URL if set (default "
            "https://services.leadconnectorhq.com).",
        )
    bad = [s for s, a in found.answers.items() if a == "bad_token"]
    if bad:
        return Check(
            "token",
            "fail",
            f"GHL refused the token: {found.errors[bad[0]].message}",
            _token_fix(),
        )
    if all(a == "unknown" for a in found.answers.values()):
        first = next(iter(found.errors.values()))
        return Check(
            "token",
            "fail",
            f"GHL could not be asked: {first}",
            "Check GHL_BASE_URL and the network.",
        )
    return Check("token", "ok", "accepted by GHL")


def _location_check(client: GhlClient, found: _Findings) -> Check:
    wrong = [s for s, a in found.answers.items() if a == "wrong_location"]
    if wrong:
        return Check(
            "location",
            "fail",
            f"the token has no access to location {client.location_id}",
            "Set GHL_LOCATION_ID to the sub-account the token was created in (Settings > "
            "Business Profile shows its id), or create the token in this sub-account.",
        )
    location = found.results.get("locations.readonly")
    if isinstance(location, Location):
        zone = location.timezone or "no time zone set"
        detail = f"{location.name or client.location_id} ({zone})"
        if not location.timezone:
            return Check(
                "location",
                "warn",
                detail,
                "Set the time zone in GHL: Settings > Business Profile > General Information; "
                "quiet hours fall back to it.",
            )
        return Check("location", "ok", detail)
    if found.answers.get("conversations.readonly") == "granted":
        return Check(
            "location", "ok", f"{client.location_id} reached (name needs locations.readonly)"
        )
    return Check(
        "location",
        "skip",
        "could not be checked without locations.readonly or conversations.readonly",
    )


def _scope_checks(found: _Findings) -> list[Check]:
    checks = []
    for probe in SCOPES:
        answer = found.answers[probe.scope]
        name = f"scope {probe.scope}"
        if answer == "granted":
            checks.append(Check(name, "ok", f"granted ({probe.needed_for})"))
        elif answer == "missing":
            checks.append(
                Check(
                    name, "fail", f"missing: needed for {probe.needed_for}", _scope_fix(probe.scope)
                )
            )
        else:
            error = found.errors.get(probe.scope)
            checks.append(
                Check(name, "skip", f"could not tell ({error})" if error else "could not tell")
            )
    return checks


def _numbers_check(found: _Findings) -> Check:
    answer = found.answers["phonenumbers.read"]
    if answer != "granted":
        return Check("sending number", "skip", "needs phonenumbers.read")
    result = found.results.get("phonenumbers.read")
    numbers = result.numbers if isinstance(result, PhoneNumberList) else []
    buy = (
        "In GHL: Settings > Phone Numbers > Add Number (LC Phone), with SMS capability, and "
        "register it for A2P 10DLC (Settings > Phone Numbers > Trust Center)."
    )
    sms = [n for n in numbers if n.capabilities.sms]
    if not sms:
        why = (
            "no phone system connected"
            if "phonenumbers.read" in found.errors
            else "none of its numbers can send SMS"
        )
        return Check("sending number", "fail", why, buy)
    default = next((n for n in numbers if n.is_default_number), None)
    listed = ", ".join(n.phone_number for n in sms)
    if default is None or not default.capabilities.sms:
        return Check(
            "sending number",
            "warn",
            f"SMS-capable: {listed}; no SMS-capable default",
            "In GHL: Settings > Phone Numbers, set an SMS-capable number as the default, or "
            "pass from_number on every send.",
        )
    name = f' "{default.friendly_name}"' if default.friendly_name else ""
    return Check(
        "sending number", "ok", f"default {default.phone_number}{name}; SMS-capable: {listed}"
    )


def check_ledger(path: Path, clock: Clock) -> Check:
    """The local ledger opens, migrates and takes a write lock."""
    try:
        Ledger.open(path, clock).close()
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (OSError, sqlite3.Error, LedgerUnusable) as exc:
        return Check(
            "ledger",
            "fail",
            f"{path} is not writable ({exc})",
            "Make that directory writable, or point GHL_SMS_LEDGER (or GHL_SMS_DATA_DIR) "
            "somewhere writable; without the ledger ghl-sms can't guarantee a text goes out once.",
        )
    return Check("ledger", "ok", f"{path} is writable")


async def diagnose(client: GhlClient) -> list[Check]:
    """Token, location, each texting scope, the sending number. Sends nothing."""
    found = await _probe_all(client)
    token = _token_check(found)
    if token.status == "fail":
        return [token]
    return [token, _location_check(client, found), *_scope_checks(found), _numbers_check(found)]
