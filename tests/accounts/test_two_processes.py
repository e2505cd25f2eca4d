"""Two processes whose agency token is due for refresh, at once: one refresh reaches GHL
(a second would present a burned refresh token and be refused), and both go on working."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import anyio
import httpx2

from ghl_sms._clock import SystemClock
from ghl_sms._settings import Secret
from ghl_sms.accounts import OAuthApp, TokenStore, complete_login
from ghl_sms.ghl import OAuthClient
from support.oauth_fake import CLIENT_ID, CLIENT_SECRET, FakeAgency, serve_loopback

CHILD = Path(__file__).parents[1] / "support" / "token_child.py"
REDIRECT = "http://127.0.0.1:9/callback"


def log_in_due(store: TokenStore, app: OAuthApp, code: str) -> None:
    """The agency logged in with ``code``, its token already due for renewal, so both
    processes will want to refresh it."""

    async def main() -> None:
        async with OAuthClient(
            client_id=app.client_id,
            client_secret=app.client_secret.reveal(),
            base_url=app.base_url,
        ) as oauth:
            await complete_login(
                store, app, oauth, code=code, redirect_uri=REDIRECT, clock=SystemClock()
            )

    anyio.run(main)
    tokens = store.load()
    store.save(tokens.with_company(replace(tokens.company, renew_at=0.0)))


def race(store: TokenStore, url: str, locations: tuple[str, str]) -> list[tuple[int, str, str]]:
    """Two child processes, one per location, each refreshing the agency token and reading
    its location; told to go as close together as two writes can be. (exit code, stdout,
    stderr) of each."""
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), str(store.path), url, location],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for location in locations
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill() if child.poll() is None else None
    return [
        (child.returncode, out, err) for child, (out, err) in zip(children, outputs, strict=True)
    ]


def test_two_processes_refreshing_at_once_make_one_refresh_and_both_work(
    tmp_path: Path,
) -> None:
    agency = FakeAgency(now=time.time, refresh_delay=0.3)
    with serve_loopback(agency) as url:
        store = TokenStore(tmp_path / "oauth.json")
        app = OAuthApp(client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), base_url=url)
        log_in_due(store, app, agency.new_code(REDIRECT))
        ran = race(store, url, ("locA", "locB"))
    for returncode, out, err in ran:
        assert returncode == 0, err
        assert "CANARY" not in out + err
    results = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in ran]
    assert [r["name"] for r in results] == ["Downtown", "Uptown"]
    assert agency.refreshes == 1 and agency.refused_refreshes == 0
    assert results[0]["agency"] == results[1]["agency"]  # both use the one new pair
    # Both were asked to go before the refresh answered: the two really overlapped.
    answered = agency.refresh_log[0][1]
    assert all(r["go"] < answered for r in results), (results, agency.refresh_log)
    assert store.load().company.refresh_token.reveal() in agency.live_refresh


def test_two_processes_against_the_served_sandbox_refresh_once(tmp_path: Path) -> None:
    from ghl_sms.sandbox import OAUTH_APP
    from support.served_sandbox import served

    with served(tmp_path / "sandbox.db") as (_, info):
        url = info["url"]
        consent = httpx2.get(
            f"{url}/oauth/chooselocation",
            params={
                "response_type": "code",
                "client_id": OAUTH_APP.client_id,
                "redirect_uri": REDIRECT,
                "approve": "1",
            },
        )
        code = httpx2.URL(consent.headers["location"]).params["code"]
        app = OAuthApp(
            client_id=OAUTH_APP.client_id,
            client_secret=Secret(OAUTH_APP.client_secret),
            base_url=url,
            app_id=OAUTH_APP.app_id,
        )
        store = TokenStore(tmp_path / "oauth.json")
        log_in_due(store, app, code)
        ran = race(store, url, ("sandboxDemoLocation2", "sandboxDemoLocation3"))
        stats = httpx2.get(f"{url}/_sandbox/agency").json()["oauthStats"]
    for returncode, _, err in ran:
        assert returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in ran]
    assert all(r["name"] for r in results)
    assert results[0]["agency"] == results[1]["agency"]
    assert stats["refreshes"] == 1 and stats["refreshesRefused"] == 0, stats
