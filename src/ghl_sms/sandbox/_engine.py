"""The sandbox's behaviour, independent of HTTP: auth, sends, the carrier's progress,
replies, DND and webhook events. Routes validate input and call in here.

``SandboxEngine`` is assembled from one part per job, each on the shared state of
``_engine_base.EngineBase``: ``_accounts`` (tokens, locations, numbers), ``_contacts``,
``_events`` (webhook payloads), ``_sending``, ``_progress`` (the carrier's steps over
time) and ``_replies``. This module adds the lifecycle: seed, reset, the clock, state.
"""

from __future__ import annotations

from ghl_sms._clock import Clock
from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._engine_base import JsonDict
from ghl_sms.sandbox._oauth import OAuthServer
from ghl_sms.sandbox._ratelimit import Limits
from ghl_sms.sandbox._replies import Replies
from ghl_sms.sandbox._seed import DEMO_LOCATION_ID, seed, seed_ids
from ghl_sms.sandbox._seed_agency import seed_agency
from ghl_sms.sandbox._sending import Sending
from ghl_sms.sandbox._shapes import iso
from ghl_sms.sandbox._webhooks import WebhookSigner
from ghl_sms.sandbox.store import SandboxStore

__all__ = ["AuthContext", "SandboxEngine"]  # AuthContext lives in _auth; _oauth imports it here


class SandboxEngine(Sending, Replies):
    def __init__(
        self,
        store: SandboxStore,
        clock: Clock,
        *,
        limits: Limits,
        signer: WebhookSigner,
        strict_version: bool = False,
    ) -> None:
        super().__init__(store, clock, limits=limits, signer=signer, strict_version=strict_version)
        self.oauth = OAuthServer(self)

    def forget_caches(self) -> None:
        self._counters.clear()
        self._reserved.clear()
        self._numbers.clear()
        self._tokens.clear()
        self._due_known = False
        self.limiter.reset()
        self.oauth.forget()

    # -- lifecycle ----------------------------------------------------------------------

    def persist_keys(self) -> None:
        rsa_pem, ed_pem = self.outbox.signer.private_pems()
        with self.transaction():
            self.store.set_meta("webhook_key_rsa", rsa_pem)
            self.store.set_meta("webhook_key_ed25519", ed_pem)

    def is_seeded(self) -> bool:
        return self.store.get_location(DEMO_LOCATION_ID) is not None

    def seed(self) -> dict[str, str]:
        """Create the demo data unless it is there already; returns the seed ids."""
        if not self.is_seeded():
            seed(self)
        seed_agency(self)  # also into a sandbox file seeded before agencies existed
        return seed_ids()

    def reset(self, *, with_seed: bool = True) -> None:
        """Forget every contact, message, token and counter; keep keys and webhook targets."""
        self.oauth.store.wipe()
        self.store.wipe()
        self.forget_caches()
        self.faults.clear()
        self.carrier.clear()
        self.outbox.queue.clear()
        self.outbox.clear_events()
        self.outbox.log.clear()
        self.persist_keys()
        if with_seed:
            seed(self)
            seed_agency(self)

    def advance(self, seconds: float) -> int:
        """Move the clock forward and apply whatever became due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{self.clock!r} cannot be advanced; use FakeClock or OffsetClock")
        advance(seconds)
        return self.process_due()

    def state(self) -> JsonDict:
        now = self.clock.now()
        locations = []
        tokens = self.store.list_tokens()
        for location in self.store.list_locations():
            locations.append(
                {
                    "id": location["id"],
                    "name": location.get("name"),
                    "timezone": location.get("timezone"),
                    "tokens": [
                        {"token": t, "scopes": scopes}
                        for t, loc, scopes in tokens
                        if loc == location["id"]
                    ],
                    "numbers": [
                        {
                            "phoneNumber": n.phone,
                            "sms": n.sms,
                            "mms": n.mms,
                            "a2pRegistered": n.a2p_registered,
                            "isDefaultNumber": n.is_default,
                        }
                        for n in self.numbers(location["id"])
                    ],
                }
            )
        limits = self.limiter.limits
        return {
            "now": iso(now),
            "epoch": now,
            "seeded": self.is_seeded(),
            "seedIds": seed_ids() if self.is_seeded() else {},
            "locations": locations,
            "counts": {
                "contacts": self.store.count_contacts(),
                "messages": self.store.count_messages(),
            },
            "nextDueAt": self.store.next_due_at(),
            "rateLimits": {"burst": limits.burst, "window": limits.window, "daily": limits.daily},
            "faults": [f.as_json() for f in self.faults.pending()],
            "webhookTargets": [t.as_json() for t in self.outbox.targets],
            "pendingWebhooks": len(self.outbox.queue),
            "webhookLog": list(self.outbox.log)[-50:],
            "events": self.outbox.events[-50:],
        }
