"""Locations and who may use them: authenticating a request's bearer token (a location's
private integration token, or an OAuth access token), creating locations and tokens, and
the sending numbers each location owns."""

from __future__ import annotations

from collections.abc import Iterable

from ghl_sms.sandbox._auth import ALL_SCOPES, AuthContext
from ghl_sms.sandbox._engine_base import EngineBase, JsonDict, to_e164
from ghl_sms.sandbox._errors import unauthorized
from ghl_sms.sandbox._ids import make_token, make_uuid
from ghl_sms.sandbox._shapes import iso
from ghl_sms.sandbox.store import NumberRow

__all__ = ["Accounts"]


class Accounts(EngineBase):
    def authenticate(self, authorization: str | None) -> AuthContext:
        if not authorization:
            raise unauthorized("Invalid JWT")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Invalid JWT")
        if token in self._tokens:
            found = self._tokens[token]
        else:
            found = self._tokens[token] = self.store.get_token(token)
        if found is None:
            if token.startswith("pit-"):
                raise unauthorized("Invalid token: access token is invalid")
            oauth = self.oauth.access_token(token)  # an expired one raises 401 Invalid JWT
            if oauth is None:
                raise unauthorized("Invalid JWT")
            return AuthContext(
                token,
                oauth.location_id or "",
                frozenset(oauth.scopes.split()),
                user_type=oauth.user_type,
                company_id=oauth.company_id,
                client_id=oauth.client_id,
                rate_key=self.oauth.rate_key(oauth),
            )
        location_id, scopes = found
        return AuthContext(token, location_id, scopes)

    def create_location(self, location: JsonDict) -> JsonDict:
        """Insert a location (``id`` optional) and return it."""
        with self.transaction():
            data = dict(location)
            data.setdefault("id", self.new_id("location"))
            data.setdefault("name", "Sandbox location")
            data.setdefault("timezone", "America/New_York")
            data.setdefault("country", "US")
            self.store.insert_location(data)
        return data

    def create_token(
        self, location_id: str, scopes: Iterable[str] | None = None, token: str | None = None
    ) -> str:
        if self.store.get_location(location_id) is None:
            raise KeyError(f"no location {location_id!r}")
        with self.transaction():
            value = token or make_token(self._next("token"))
            self.store.insert_token(value, location_id, list(scopes or ALL_SCOPES))
        self._tokens.pop(value, None)
        return value

    def add_number(
        self,
        location_id: str,
        phone: str,
        *,
        friendly_name: str | None = None,
        sms: bool = True,
        mms: bool = True,
        voice: bool = True,
        a2p_registered: bool = True,
        is_default: bool = False,
        number_type: str = "local",
    ) -> NumberRow:
        e164 = to_e164(phone) or phone
        now = iso(self.clock.now())
        with self.transaction():
            n = self._next("number")
            data: JsonDict = {
                "phoneNumber": e164,
                "friendlyName": friendly_name or e164,
                "sid": "PN" + make_uuid("number", n).replace("-", ""),
                "countryCode": "US" if e164.startswith("+1") else "",
                "capabilities": {"voice": voice, "sms": sms, "mms": mms, "fax": False},
                "type": number_type,
                "isDefaultNumber": is_default,
                "linkedUser": None,
                "linkedRingAllUsers": [],
                "inboundCallService": None,
                "forwardingNumber": None,
                "isGroupConversationEnabled": False,
                "addressSid": None,
                "bundleSid": None,
                "dateAdded": now,
                "dateUpdated": now,
                "origin": "twilio",
            }
            row = NumberRow(location_id, e164, data, sms, mms, a2p_registered, is_default)
            self.store.insert_number(row)
        self._numbers.pop(location_id, None)
        return row

    def numbers(self, location_id: str) -> list[NumberRow]:
        cached = self._numbers.get(location_id)
        if cached is None:
            cached = self._numbers[location_id] = self.store.list_numbers(location_id)
        return cached
