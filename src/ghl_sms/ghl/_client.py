"""The async GHL API client: one instance per sub-account (location).

``GhlClient`` is built here from its parts: the request loop (``_calls``) and the
endpoint groups (``_messages``, ``_conversations``, ``_contacts``, ``_location``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import ClassVar

import httpx2

from ghl_sms._clock import Clock
from ghl_sms.ghl._calls import TokenProvider, token_problem
from ghl_sms.ghl._contacts import ContactsApi
from ghl_sms.ghl._conversations import ConversationsApi
from ghl_sms.ghl._endpoint import DEFAULT_BASE_URL
from ghl_sms.ghl._errors import ConfigError
from ghl_sms.ghl._location import LocationApi
from ghl_sms.ghl._messages import MessagesApi
from ghl_sms.ghl._pacing import RateLimits, RequestPacer, SlidingWindowPacer
from ghl_sms.ghl._retry import RetryPolicy

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_VERSIONS", "GhlClient", "TokenProvider"]

# Each API module declares exactly one `Version` value in its spec.
DEFAULT_VERSIONS: Mapping[str, str] = {
    "conversations": "2021-04-15",
    "contacts": "2021-07-28",
    "phone-system": "2021-07-28",
    "locations": "2021-07-28",
}


class GhlClient(MessagesApi, ConversationsApi, ContactsApi, LocationApi):
    """Talks to GHL's API for one location.

    Build it from explicit arguments; it never reads the environment::

        async with GhlClient(token="pit-...", location_id="ve9EPM428h8vShlRW1KT") as ghl:
            sent = await ghl.send_message(contact_id="...", message="Hi!")

    ``transport`` swaps the network (``httpx2.MockTransport`` in unit tests, the
    sandbox's in-process transport in contract tests); ``clock`` drives pacing and
    retry waits; ``pacer`` may be shared by several clients of one location.
    ``token_provider`` replaces ``token`` for a token that changes (OAuth): it is asked
    before each request, and once more after GHL refuses a token as expired.
    """

    _keep_secrets: ClassVar[int | None] = 8  # the static token, or the latest handed out

    def __init__(
        self,
        *,
        token: str | None = None,
        location_id: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        pacer: RequestPacer | None = None,
        rate_limits: RateLimits | None = None,
        versions: Mapping[str, str] | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if token_provider is None and (not token or not token.strip()):
            raise ConfigError("A GHL token is required (a Private Integration Token, pit-...).")
        if token_provider is not None and token:
            raise ConfigError("Give the GHL client a token or a token provider, not both.")
        if not location_id or not location_id.strip():
            raise ConfigError("A GHL location id (sub-account id) is required.")
        self._token = (token or "").strip()
        problem = token_problem(self._token)
        if problem is not None:
            raise ConfigError(problem)
        self._token_provider = token_provider
        self.location_id = location_id.strip()
        self._versions = {**DEFAULT_VERSIONS, **(versions or {})}
        self._open_wire(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            clock=clock,
            retry=retry,
            rng=rng,
            headers={
                **({"Authorization": f"Bearer {self._token}"} if self._token else {}),
                # Most calls (and every send) are conversations calls; others override it.
                "Version": self._versions["conversations"],
            },
            secrets=[self._token] if self._token else [],
        )
        self.pacer: RequestPacer = pacer or SlidingWindowPacer(self._clock, rate_limits)

    def __repr__(self) -> str:
        return f"GhlClient(location_id={self.location_id!r}, base_url={self.base_url!r})"
