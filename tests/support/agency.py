"""An agency login against the sandbox (in-process or served) and a sub-account's
service over it: what `ghl-sms login` and `--location ID` do, for tests."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx2

from ghl_sms._settings import Secret
from ghl_sms.accounts import OAuthApp, StoredTokens, TokenManager, TokenStore, complete_login
from ghl_sms.ghl import GhlClient, OAuthClient, RetryPolicy
from ghl_sms.ops.ledger import Ledger
from ghl_sms.ops.service import SmsService
from ghl_sms.sandbox import OAUTH_APP
from support.contract import Target

REDIRECT = "http://127.0.0.1:53682/callback"


async def log_in(target: Target, store: TokenStore) -> StoredTokens:
    """What `ghl-sms login` does: the consent page approved, the code traded, stored."""
    async with httpx2.AsyncClient(base_url=target.base_url, transport=target.transport) as web:
        page = await web.get(
            "/oauth/chooselocation",
            params={
                "response_type": "code",
                "client_id": OAUTH_APP.client_id,
                "redirect_uri": REDIRECT,
                "scope": " ".join(OAUTH_APP.scopes),
                "approve": "1",  # the agency itself (no location_id): a Company token
            },
        )
    assert page.status_code == 302, page.text
    code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
    app = OAuthApp(
        client_id=OAUTH_APP.client_id,
        client_secret=Secret(OAUTH_APP.client_secret),
        base_url=target.base_url,
    )
    async with OAuthClient(
        client_id=app.client_id,
        client_secret=OAUTH_APP.client_secret,
        base_url=target.base_url,
        transport=target.transport,
        clock=target.clock,
    ) as oauth:
        return await complete_login(
            store, app, oauth, code=code, redirect_uri=REDIRECT, clock=target.clock
        )


@asynccontextmanager
async def service(
    target: Target, tokens: TokenManager, location_id: str, ledger: Ledger
) -> AsyncIterator[SmsService]:
    """One sub-account's service, its client asking ``tokens`` before each request."""
    client = GhlClient(
        token_provider=tokens.provider(location_id),
        location_id=location_id,
        base_url=target.base_url,
        transport=target.transport,
        clock=target.clock,
        rng=random.Random(0),
        retry=RetryPolicy(max_retries=1, initial_delay=0.05),
    )
    async with client:
        yield SmsService(client, ledger, clock=target.clock)
