"""Who a request speaks for: the scopes a token may hold, the API versions the sandbox
accepts, and the ``AuthContext`` every authenticated route receives."""

from __future__ import annotations

from dataclasses import dataclass

from ghl_sms._scopes import TEXTING_SCOPES
from ghl_sms.sandbox._errors import forbidden_location

__all__ = ["ACCEPTED_VERSIONS", "ALL_SCOPES", "AuthContext"]

# Every location scope the sandbox knows: what texting needs, and the number pools'.
ALL_SCOPES = (*TEXTING_SCOPES, "numberpools.read")
ACCEPTED_VERSIONS = frozenset({"2021-04-15", "2021-07-28", "2023-02-21", "v3", "legacy"})


@dataclass(frozen=True, slots=True)
class AuthContext:
    token: str
    location_id: str  # "" for an agency (Company) token
    scopes: frozenset[str]
    user_type: str = "Location"  # a PIT is a location's; OAuth tokens say "Company" or "Location"
    company_id: str | None = None
    client_id: str | None = None  # the OAuth app's, for OAuth tokens
    rate_key: str = ""  # the rate-limit bucket: a PIT's own, else the app's per resource

    @property
    def bucket(self) -> str:
        return self.rate_key or self.token

    def require_location(self, location_id: str | None) -> None:
        if location_id is not None and location_id != self.location_id:
            raise forbidden_location()
