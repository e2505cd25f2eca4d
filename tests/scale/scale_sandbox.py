"""A sandbox served over loopback for the scale-out tests and bench, logging every GHL
request's arrival: the oracle for "never over the limit in any window".

    python tests/scale/scale_sandbox.py DB --locations N --contacts M [--dnd K]
        [--burst B --window W] [--zone ZONE] [--late ZONE:K]

Prints one JSON line (url, locations: id -> token, numbers, phones per location, the
DND phones, each phone's zone when ``--zone`` is given, and the ``--late`` phones: the K
contacts after the DND ones, whose ``timezone`` is ZONE instead) once it listens, then
serves until terminated. ``GET /_scale/log`` returns every request: arrival time (this
process's wall clock), the location its token belongs to, method, path, status, and
whether it is still in progress (a held send);
``GET /_scale/messages`` every outbound message (location, to, from, date_added).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


class ArrivalLog:
    """ASGI middleware: each GHL request's arrival, location and answer."""

    def __init__(self, app: Any, tokens: dict[str, str], store: Any) -> None:
        self.app = app
        self.tokens = tokens  # token -> location id
        self.store = store
        self.entries: list[dict[str, Any]] = []

    def _messages(self) -> list[list[Any]]:
        """(location, to, from, date_added) of every outbound message."""
        rows = self.store.conn.execute(
            "SELECT m.location_id, c.phone, m.from_number, m.date_added FROM messages m "
            "JOIN contacts c ON c.id = m.contact_id WHERE m.direction = 'outbound'"
        ).fetchall()
        return [list(row) for row in rows]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in ("/_scale/log", "/_scale/messages"):
            found = self.entries if scope["path"] == "/_scale/log" else self._messages()
            body = json.dumps(found).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        if scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ").strip()
        entry: dict[str, Any] = {
            "at": time.time(),
            "location": self.tokens.get(token, "?"),
            "method": scope["method"],
            "path": scope["path"],
            "status": None,
            "done": False,
        }
        self.entries.append(entry)

        async def recording(message: Any) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            entry["done"] = True


def _area_codes(count: int) -> list[str]:
    """``count`` US area codes whose numbers parse as valid, 212, 213, ... first (the
    tests' locations 0-5 keep the codes they always had)."""
    from ghl_sms.rules.area_codes import STATE_BY_AREA_CODE
    from ghl_sms.rules.phones import PhoneNumberError, parse_phone

    found: list[str] = []
    for code in sorted(STATE_BY_AREA_CODE, key=lambda c: (int(c) < 212, int(c))):
        try:
            parse_phone(f"+1{code}5552000")
        except PhoneNumberError:
            continue
        found.append(code)
        if len(found) == count:
            return found
    raise SystemExit(f"only {len(found)} US area codes to give {count} locations")


def _serve(args: argparse.Namespace) -> None:
    import anyio

    from ghl_sms.sandbox import Sandbox

    sandbox = Sandbox(
        db_path=args.db, burst_limit=args.burst, burst_window=args.window, daily_limit=args.daily
    )
    locations: dict[str, str] = {}
    numbers: dict[str, str] = {}
    phones: dict[str, list[str]] = {}
    dnd: list[str] = []
    zones: dict[str, str] = {}
    late_zone, _, late_count = (args.late or "").partition(":")
    late: list[str] = []
    area_codes = _area_codes(args.locations)
    for n in range(args.locations):
        number = f"+1415555{9000 + n:04d}"
        location_id = sandbox.create_location(name=f"Scale {n}", numbers=[number])
        locations[location_id] = sandbox.create_token(location_id)
        numbers[location_id] = number
        phones[location_id] = []
        for i in range(args.contacts):
            phone = f"+1{area_codes[n]}555{2000 + i:04d}"
            fields: dict[str, Any] = {"firstName": f"Pat{i}", "phone": phone}
            if i < args.dnd:
                fields["dnd"] = True
                dnd.append(phone)
            zone = args.zone
            if late_zone and args.dnd <= i < args.dnd + int(late_count):
                zone = late_zone
                late.append(phone)
            if zone:
                fields["timezone"] = zone
                zones[phone] = zone
            sandbox.create_contact(fields, location_id=location_id)
            phones[location_id].append(phone)
    sandbox.app = ArrivalLog(  # type: ignore[assignment]
        sandbox.app, {token: loc for loc, token in locations.items()}, sandbox.store
    )

    def ready(url: str) -> None:
        info = {"url": url, "locations": locations, "numbers": numbers, "phones": phones,
                "dnd": dnd, "zones": zones, "late": late}  # fmt: skip
        print(json.dumps(info), flush=True)

    anyio.run(lambda: sandbox.serve(host="127.0.0.1", port=0, on_ready=ready))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--locations", type=int, default=6)
    parser.add_argument("--contacts", type=int, default=40)
    parser.add_argument("--dnd", type=int, default=0)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--daily", type=int, default=200_000)
    parser.add_argument("--zone", help="every contact's timezone (IANA)")
    parser.add_argument("--late", help="ZONE:K, the timezone of K contacts after the DND ones")
    _serve(parser.parse_args())


if __name__ == "__main__":
    main()
