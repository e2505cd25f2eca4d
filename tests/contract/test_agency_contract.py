"""An agency's whole day, with the real pieces against the real sandbox, in-process and
over loopback HTTP: log in (authorization code) -> a location token per sub-account ->
send in two sub-accounts -> every access token expires -> the agency token is refreshed
once and the location tokens minted again -> send again.

In-process the sandbox and the client share one FakeClock, so the client sees the
expiry coming and renews first. Over HTTP only the served sandbox's clock moves: GHL
refuses the stale tokens (401 ``Invalid JWT``) and the client renews on that answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from ghl_sms.accounts import TokenManager, TokenStore
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SendRequest
from support.agency import log_in, service
from support.contract import Target

pytestmark = pytest.mark.anyio

LOCATION_1 = "sandboxDemoLocation1"
LOCATION_2 = "sandboxDemoLocation2"
A_DAY_AND_A_BIT = 86_400 + 60  # past both the agency's (86,399 s) and locations' (86,400 s)


def reachable(agency: dict[str, Any], location_id: str) -> tuple[str, str]:
    """(contact id, default sending number) of the sub-account's reachable contact."""
    [location] = [loc for loc in agency["locations"] if loc["id"] == location_id]
    [contact] = [c for c in location["contacts"] if "reachable" in c["tags"]]
    [default] = [n["phoneNumber"] for n in location["numbers"] if n["isDefaultNumber"]]
    return contact["id"], default


async def landed(target: Target, message_id: str, location_id: str) -> dict[str, Any]:
    """The message as the sandbox holds it, read with a PIT of ``location_id`` (not
    through the OAuth login under test): only that sub-account's token can see it."""
    minted = await target.control("POST", "/_sandbox/tokens", {"locationId": location_id})
    async with httpx2.AsyncClient(base_url=target.base_url, transport=target.transport) as web:
        response = await web.get(
            f"/conversations/messages/{message_id}",
            headers={"Authorization": f"Bearer {minted['token']}", "Version": "2021-04-15"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return dict(body.get("message", body))


async def test_login_send_in_two_sub_accounts_expire_refresh_and_send_again(
    target: Target, tmp_path: Path
) -> None:
    agency = await target.control("GET", "/_sandbox/agency")
    assert agency["oauthStats"] == {
        "codesRedeemed": 0, "refreshes": 0, "refreshesRefused": 0, "locationTokens": 0,
    }  # fmt: skip
    people = {loc: reachable(agency, loc) for loc in (LOCATION_1, LOCATION_2)}
    store = TokenStore(tmp_path / "oauth.json")
    login = await log_in(target, store)
    assert {LOCATION_1, LOCATION_2} <= set(login.company.approved_locations)

    ledger = Ledger.open(tmp_path / "ledger.db", target.clock)
    sent: list[tuple[str, str, str]] = []  # (message id, location, text)
    try:
        async with TokenManager(store, clock=target.clock, transport=target.transport) as tokens:

            async def send_everywhere(text: str) -> None:
                for location_id, (contact_id, _) in people.items():
                    async with service(target, tokens, location_id, ledger) as sms:
                        words = f"{text} from {location_id}"
                        outcome = await sms.send(
                            SendRequest(contact_id=contact_id, text=words, transactional=True)
                        )
                        assert outcome.outcome == "sent" and outcome.message_id
                        sent.append((outcome.message_id, location_id, words))

            await send_everywhere("Before")
            before = store.load()
            first_tokens = {loc: before.locations[loc].access_token for loc in people}
            stats = (await target.control("GET", "/_sandbox/agency"))["oauthStats"]
            assert (stats["locationTokens"], stats["refreshes"]) == (2, 0)

            await target.advance(A_DAY_AND_A_BIT)
            await send_everywhere("After")
    finally:
        ledger.close()

    stats = (await target.control("GET", "/_sandbox/agency"))["oauthStats"]
    assert stats == {
        "codesRedeemed": 1, "refreshes": 1, "refreshesRefused": 0, "locationTokens": 4,
    }  # fmt: skip
    after = store.load()
    assert after.company.refresh_token != login.company.refresh_token  # rotated and kept
    assert after.company.access_token != login.company.access_token
    for location_id in people:  # minted again after the expiry, and remembered on disk
        assert after.locations[location_id].access_token != first_tokens[location_id]
    for message_id, location_id, text in sent:
        message = await landed(target, message_id, location_id)
        contact_id, sender = people[location_id]
        assert (message["locationId"], message["contactId"], message["body"]) == (
            location_id,
            contact_id,
            text,
        )
        assert message["from"] == sender  # the sub-account's own default number
    assert [loc for _, loc, _ in sent] == [LOCATION_1, LOCATION_2] * 2
