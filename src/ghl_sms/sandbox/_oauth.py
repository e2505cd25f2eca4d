"""GHL's OAuth 2.0 for a marketplace app, as ghl-api.md §1.1 and the spec
(``apps/oauth.json``) describe it: authorization codes, Company and Location access
tokens that expire on the sandbox clock, refresh tokens that rotate, and the agency's
``/oauth/locationToken`` and ``/oauth/installedLocations``.

HTTP lives in ``_routes/oauth.py``; this module only decides. Error wordings and their
sources are listed in the README's deviations table.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ghl_sms._scopes import AGENCY_SCOPES
from ghl_sms.sandbox._errors import ApiError, bad_request, forbidden, not_found, unauthorized
from ghl_sms.sandbox._oauth_store import AppRow, CodeRow, OAuthStore, TokenRow
from ghl_sms.sandbox._seed_agency import AGENCY_USER_ID, OAuthApp
from ghl_sms.sandbox._shapes import iso

if TYPE_CHECKING:
    from ghl_sms.sandbox._engine import AuthContext, SandboxEngine

__all__ = ["AuthorizeError", "AuthorizeRequest", "OAuthServer"]

JsonDict = dict[str, Any]

ACCESS_SECONDS = 86_399  # /oauth/token (spec example, and what GHL answers)
LOCATION_ACCESS_SECONDS = 86_400  # /oauth/locationToken (measured live by a third party)
REFRESH_SECONDS = 365 * 86_400  # "a year" (ghl-api.md §1)
CODE_SECONDS = 600
# The location-token exchange adds the agency scopes to the minted token (third-party
# measurement).
LOCATION_EXTRA_SCOPES = AGENCY_SCOPES
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_TYPES = ("Company", "Location")
STAT_NAMES = ("codesRedeemed", "refreshes", "refreshesRefused", "locationTokens")


class AuthorizeError(ValueError):
    """The authorize request is not one the sandbox redirects for (shown as a 400 page)."""


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    app: AppRow
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None


def _missing(name: str) -> ApiError:
    return ApiError(400, {"statusCode": 400, "message": f"Missing parameter: {name}"})


def _invalid(name: str) -> ApiError:
    return ApiError(400, {"statusCode": 400, "message": f"Invalid parameter: {name}"})


def _code_not_found() -> ApiError:
    # Measured live (third party): a bad code gets this shape, whatever the client creds.
    return ApiError(
        401, {"error": "UnAuthorized!", "error_description": "Authorization code not found"}
    )


def _refresh_invalid() -> ApiError:
    # The v3 spec's example for an invalid, expired or already used refresh token.
    return ApiError(400, {"statusCode": 400, "message": "Invalid grant: refresh token is invalid"})


def _own_company(ctx: AuthContext, fields: Mapping[str, str], problem: str) -> None:
    """An agency route's checks, in GHL's order: a 422 listing each empty field (``problem``
    is GHL's wording for the route), then a 403 when ``companyId`` is another company's."""
    problems = [f"{name} {problem}" for name, value in fields.items() if not value]
    if problems:
        raise ApiError(422, {"statusCode": 422, "message": problems,
                             "error": "Unprocessable Entity"})  # fmt: skip
    if fields["companyId"] != ctx.company_id:
        raise forbidden("The token does not have access to this company.")


def _b64(data: JsonDict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OAuthServer:
    def __init__(self, engine: SandboxEngine) -> None:
        self.engine = engine
        self.store = OAuthStore(engine.store)
        self._access: dict[str, TokenRow] = {}  # access-token cache; this process writes them
        # What the token endpoints did since start (or reset): lets a test tell that two
        # processes refreshing at once made one refresh, and the other was refused.
        self.stats = dict.fromkeys(STAT_NAMES, 0)

    def forget(self) -> None:
        self._access.clear()
        self.stats = dict.fromkeys(STAT_NAMES, 0)

    # -- setup ------------------------------------------------------------------------

    def register_app(self, app: OAuthApp) -> None:
        data = {
            "name": app.name,
            "scopes": list(app.scopes),
            "redirectUris": list(app.redirect_uris),
        }
        row = AppRow(app.client_id, app.client_secret, app.app_id, app.version_id,
                     app.company_id, data)  # fmt: skip
        with self.engine.transaction():
            self.store.insert_app(row)

    def install(self, app_id: str, location_id: str) -> None:
        """Install the app on a location of its company (the agency's own choice)."""
        app = self.store.app_by_id(app_id)
        location = self.engine.store.get_location(location_id)
        if app is None or location is None:
            raise KeyError(f"no app {app_id!r} or no location {location_id!r}")
        if location.get("companyId") != app.company_id:
            raise ValueError(f"location {location_id!r} is not in company {app.company_id!r}")
        with self.engine.transaction():
            self.store.install(app_id, location_id, app.company_id, self.engine.clock.now())

    def uninstall(self, app_id: str, location_id: str) -> None:
        with self.engine.transaction():
            self.store.uninstall(app_id, location_id)

    # -- bearer tokens ----------------------------------------------------------------

    def access_token(self, token: str) -> TokenRow | None:
        """The access token's row; an expired one is refused (401 ``Invalid JWT``)."""
        row = self._access.get(token)
        if row is None:
            found = self.store.get_token(token)
            if found is None or found.kind != "access":
                return None
            row = self._access[token] = found
        if self.engine.clock.now() >= row.expires_at:
            raise unauthorized("Invalid JWT")
        return row

    @staticmethod
    def rate_key(row: TokenRow) -> str:
        """One bucket per app per resource (ghl-api.md §7): every location token of an
        app for a location shares it; the agency's own routes have theirs."""
        if row.location_id is not None:
            return f"oauth:{row.client_id}:location:{row.location_id}"
        return f"oauth:{row.client_id}:company:{row.company_id}"

    # -- authorize page ---------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        client_id = params.get("client_id") or ""
        app = self.store.app_by_client(client_id) if client_id else None
        if app is None:
            raise AuthorizeError(f"Unknown client_id {client_id!r}: no such app.")
        if params.get("response_type") != "code":
            raise AuthorizeError("response_type must be 'code'.")
        redirect_uri = params.get("redirect_uri") or ""
        if not self._redirect_allowed(app, redirect_uri):
            raise AuthorizeError(
                f"redirect_uri {redirect_uri!r} is not registered for this app (registered: "
                f"{', '.join(app.redirect_uris)}, any port on a loopback host)."
            )
        requested = tuple((params.get("scope") or "").split()) or app.scopes
        unknown = [s for s in requested if s not in app.scopes]
        if unknown:
            raise AuthorizeError(f"Scope not available for this app: {' '.join(unknown)}.")
        return AuthorizeRequest(app, redirect_uri, requested, params.get("state") or None)

    @staticmethod
    def _redirect_allowed(app: AppRow, uri: str) -> bool:
        if uri in app.redirect_uris:
            return True
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return False
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not parts.fragment

    def choices(self, app: AppRow) -> list[JsonDict]:
        """What the authorize page offers: the agency, then each installed location."""
        company = self.store.get_company(app.company_id) or {"name": app.company_id}
        installed = self.store.installs(app.app_id, app.company_id)
        names = {
            loc["id"]: loc.get("name", loc["id"]) for loc in self.engine.store.list_locations()
        }
        return [
            {"value": "", "label": f"{company.get('name')} (agency: a Company token)"},
            *({"value": loc, "label": f"{names.get(loc, loc)} (a Location token)"}
              for loc in installed),
        ]  # fmt: skip

    def issue_code(self, request: AuthorizeRequest, location_id: str | None) -> str:
        """A one-time code; with ``location_id`` it is for that sub-account's token."""
        app = request.app
        if location_id and location_id not in self.store.installs(app.app_id, app.company_id):
            raise AuthorizeError(f"The app is not installed on location {location_id!r}.")
        code = secrets.token_hex(20)
        row = CodeRow(code, app.client_id, app.company_id, location_id or None,
                      request.redirect_uri, " ".join(request.scopes),
                      self.engine.clock.now() + CODE_SECONDS, False)  # fmt: skip
        with self.engine.transaction():
            self.store.insert_code(row)
        return code

    @staticmethod
    def redirect_url(request: AuthorizeRequest, code: str) -> str:
        parts = urlsplit(request.redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        query.append(("code", code))
        if request.state is not None:
            query.append(("state", request.state))
        return urlunsplit(parts._replace(query=urlencode(query)))

    # -- POST /oauth/token ------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> JsonDict:
        for name in ("client_id", "client_secret", "grant_type"):
            if not form.get(name):
                raise _missing(name)
        grant = form["grant_type"]
        user_type = form.get("user_type") or None
        if user_type is not None and user_type not in USER_TYPES:
            raise _invalid("user_type")
        with self.engine.transaction():
            if grant == "authorization_code":
                return self._redeem_code(form, user_type)
            if grant == "refresh_token":
                return self._refresh(form, user_type)
        raise _invalid("grant_type")  # client_credentials is not emulated

    def _client(self, form: Mapping[str, str]) -> AppRow:
        app = self.store.app_by_client(form["client_id"])
        if app is None:
            raise _invalid("client_id")
        if not secrets.compare_digest(app.client_secret, form["client_secret"]):
            raise _invalid("client_secret")
        return app

    def _redeem_code(self, form: Mapping[str, str], user_type: str | None) -> JsonDict:
        if not form.get("code"):
            raise _missing("code")
        now = self.engine.clock.now()
        code = self.store.get_code(form["code"])
        # The code is checked before the client (measured live by a third party).
        if code is None or code.used or now >= code.expires_at:
            raise _code_not_found()
        app = self._client(form)
        if code.client_id != app.client_id:
            raise _code_not_found()
        redirect_uri = form.get("redirect_uri")
        if redirect_uri and redirect_uri != code.redirect_uri:
            raise _invalid("redirect_uri")
        granted = "Location" if code.location_id else "Company"
        if user_type is not None and user_type != granted:
            raise _invalid("user_type")
        self.store.use_code(code.code)
        self.stats["codesRedeemed"] += 1
        return self._grant(app, granted, code.company_id, code.location_id, code.scopes,
                           ACCESS_SECONDS)  # fmt: skip

    def _refresh(self, form: Mapping[str, str], user_type: str | None) -> JsonDict:
        if not form.get("refresh_token"):
            raise _missing("refresh_token")
        app = self._client(form)
        old = self.store.get_token(form["refresh_token"])
        now = self.engine.clock.now()
        if (
            old is None
            or old.kind != "refresh"
            or old.used
            or now >= old.expires_at
            or old.client_id != app.client_id
        ):
            self.stats["refreshesRefused"] += 1
            raise _refresh_invalid()
        if user_type is not None and user_type != old.user_type:
            raise _invalid("user_type")
        self.store.use_token(old.token)  # rotation: the old refresh token is spent
        self.stats["refreshes"] += 1
        seconds = LOCATION_ACCESS_SECONDS if old.location_id else ACCESS_SECONDS
        return self._grant(app, old.user_type, old.company_id, old.location_id, old.scopes,
                           seconds)  # fmt: skip

    def _grant(self, app: AppRow, user_type: str, company_id: str, location_id: str | None,
               scopes: str, seconds: int) -> JsonDict:  # fmt: skip
        access, refresh = self._pair(app, user_type, company_id, location_id, scopes, seconds)
        body: JsonDict = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": seconds,
            "refresh_token": refresh,
            "scope": scopes,
            "userType": user_type,
            "companyId": company_id,
        }
        if location_id is not None:
            body["locationId"] = location_id
            body["userId"] = AGENCY_USER_ID
            body["isBulkInstallation"] = False
            return body
        body["approvedLocations"] = list(self.store.installs(app.app_id, company_id))
        body["userId"] = AGENCY_USER_ID
        body["isBulkInstallation"] = True
        body["installToFutureLocations"] = False
        body["approveAllLocations"] = False
        return body

    def _pair(self, app: AppRow, user_type: str, company_id: str, location_id: str | None,
              scopes: str, seconds: int) -> tuple[str, str]:  # fmt: skip
        now = self.engine.clock.now()
        rows = []
        for kind, lifetime in (("access", seconds), ("refresh", REFRESH_SECONDS)):
            claims = {
                "authClass": user_type,
                "authClassId": location_id or company_id,
                "primaryAuthClassId": location_id or company_id,
                "source": "INTEGRATION",
                "sourceId": app.client_id,
                "channel": "OAUTH",
                "oauthMeta": {"scopes": scopes.split(), "client": app.app_id,
                              "versionId": app.version_id},
                "iat": int(now),
                "exp": int(now + lifetime),
                "jti": secrets.token_hex(8),
            }  # fmt: skip
            if kind == "refresh":
                claims["tokenType"] = "refresh"
            header = _b64({"alg": "HS256", "typ": "JWT"})
            token = f"{header}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
            row = TokenRow(token, kind, app.client_id, user_type, company_id, location_id,
                           scopes, now + lifetime, False)  # fmt: skip
            self.store.insert_token(row)
            rows.append(token)
        return rows[0], rows[1]

    # -- agency routes ----------------------------------------------------------------

    def location_token(self, ctx: AuthContext, form: Mapping[str, str]) -> JsonDict:
        company_id, location_id = form.get("companyId") or "", form.get("locationId") or ""
        _own_company(ctx, {"companyId": company_id, "locationId": location_id},
                     "should not be empty")  # fmt: skip
        app = self.store.app_by_client(ctx.client_id or "")
        if app is None:  # the app was removed under a live token
            raise unauthorized("Invalid JWT")
        if location_id not in self.store.installs(app.app_id, company_id):
            raise bad_request("The app is not installed on this location.")
        scopes = " ".join(dict.fromkeys([*sorted(ctx.scopes), *LOCATION_EXTRA_SCOPES]))
        self.stats["locationTokens"] += 1
        with self.engine.transaction():
            body = self._grant(app, "Location", company_id, location_id, scopes,
                               LOCATION_ACCESS_SECONDS)  # fmt: skip
        return {
            **body,
            "appId": app.app_id,
            "versionId": app.version_id,
        }

    def installed_locations(self, ctx: AuthContext, query: Mapping[str, str]) -> JsonDict:
        company_id, app_id = query.get("companyId") or "", query.get("appId") or ""
        _own_company(ctx, {"companyId": company_id, "appId": app_id}, "must be a string")
        app = self.store.app_by_id(app_id)
        if app is None or app.company_id != company_id:
            raise not_found("App not found")
        installs = self.store.installs(app.app_id, company_id)
        wanted = query.get("isInstalled")
        name_query = (query.get("query") or "").lower()
        only = query.get("locationId") or None
        items = []
        for location in self.store.company_locations(company_id):
            installed = location["id"] in installs
            if wanted == "true" and not installed or wanted == "false" and installed:
                continue
            if name_query and name_query not in str(location.get("name", "")).lower():
                continue
            if only is not None and location["id"] != only:
                continue
            item: JsonDict = {
                "_id": location["id"],
                "name": location.get("name", ""),
                "address": _address(location),
                "isInstalled": installed,
            }
            if installed:
                item["versionId"] = app.version_id
                item["installedAt"] = iso(installs[location["id"]])
            items.append(item)
        skip = _paging(query, "skip", 0)
        limit = _paging(query, "limit", 20)
        return {
            "locations": items[skip : skip + limit],
            "count": len(items),
            "installToFutureLocations": False,
        }


def _address(location: JsonDict) -> str:
    parts = [location.get(key) for key in ("address", "city", "state", "country")]
    return ", ".join(str(p) for p in parts if p)


def _paging(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(
            422,
            {
                "statusCode": 422,
                "message": [f"{name} must be a number string"],
                "error": "Unprocessable Entity",
            },
        ) from exc
    if value < 0:
        raise ApiError(
            422,
            {
                "statusCode": 422,
                "message": [f"{name} must not be less than 0"],
                "error": "Unprocessable Entity",
            },
        )
    return value
