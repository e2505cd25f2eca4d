"""``/_sandbox/agency*`` and ``/_sandbox/oauth-app``: the demo agency, its locations and
the marketplace app's credentials. Not GHL; no token needed (a local dev tool)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghl_sms.sandbox._engine import SandboxEngine
from ghl_sms.sandbox._routes._gate import engine_of
from ghl_sms.sandbox._seed_agency import AGENCY_COMPANY_ID, OAUTH_APP

__all__ = ["agency_json", "oauth_app_json", "routes"]

JsonDict = dict[str, Any]


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"statusCode": status, "message": message}, status_code=status)


async def _object(request: Request) -> JsonDict:
    raw = await request.body()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def oauth_app_json(engine: SandboxEngine, base_url: str) -> JsonDict:
    app = engine.oauth.store.app_by_client(OAUTH_APP.client_id)
    if app is None:
        return {}
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": "http://127.0.0.1:PORT/callback",
            "scope": " ".join(app.scopes),
        }
    )
    return {
        "name": app.data.get("name"),
        "appId": app.app_id,
        "versionId": app.version_id,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "companyId": app.company_id,
        "scopes": list(app.scopes),
        "redirectUris": list(app.redirect_uris),
        "redirectRule": "any http URL on 127.0.0.1, localhost or [::1], any port and path",
        "authorizeUrl": f"{base_url.rstrip('/')}/oauth/chooselocation?{query}",
        "tokenUrl": f"{base_url.rstrip('/')}/oauth/token",
    }


def agency_json(engine: SandboxEngine) -> JsonDict:
    oauth = engine.oauth
    company = oauth.store.get_company(AGENCY_COMPANY_ID)
    if company is None:
        return {"company": None, "locations": []}
    installs = oauth.store.installs(OAUTH_APP.app_id, AGENCY_COMPANY_ID)
    locations = []
    for location in oauth.store.company_locations(AGENCY_COMPANY_ID):
        location_id = location["id"]
        locations.append(
            {
                "id": location_id,
                "name": location.get("name"),
                "timezone": location.get("timezone"),
                "appInstalled": location_id in installs,
                "numbers": [
                    {"phoneNumber": n.phone, "isDefaultNumber": n.is_default}
                    for n in engine.numbers(location_id)
                ],
                "contacts": [
                    {
                        "id": c["id"],
                        "name": " ".join(
                            str(p) for p in (c.get("firstName"), c.get("lastName")) if p
                        ),
                        "phone": c.get("phone"),
                        "tags": c.get("tags", []),
                    }
                    for c in engine.store.find_contacts(location_id)
                ],
            }
        )
    return {
        "company": company,
        "appId": OAUTH_APP.app_id,
        "locations": locations,
        "oauthStats": dict(oauth.stats),
    }


async def oauth_app(request: Request) -> Response:
    return JSONResponse(oauth_app_json(engine_of(request), str(request.base_url)))


async def agency(request: Request) -> Response:
    return JSONResponse(agency_json(engine_of(request)))


async def agency_locations(request: Request) -> Response:
    """POST ``{"name", "timezone", "numbers": [...], "install": true}``: a new sub-account
    of the agency (first number = default sender), with the app installed unless
    ``install`` is false."""
    engine = engine_of(request)
    try:
        body = await _object(request)
        numbers = [str(n) for n in body.pop("numbers", [])]
        install = bool(body.pop("install", True))
        body["companyId"] = AGENCY_COMPANY_ID
        location = engine.create_location(body)
        for index, phone in enumerate(numbers):
            engine.add_number(location["id"], phone, is_default=index == 0)
        if install:
            engine.oauth.install(OAUTH_APP.app_id, location["id"])
    except (ValueError, TypeError, KeyError) as exc:
        return _problem(400, str(exc.args[0] if exc.args else exc))
    return JSONResponse({"location": location, "appInstalled": install}, status_code=201)


async def installs(request: Request) -> Response:
    """POST ``{"locationId", "installed": true|false}``: install or uninstall the app."""
    engine = engine_of(request)
    try:
        body = await _object(request)
        location_id = str(body["locationId"])
        if body.get("installed", True):
            engine.oauth.install(OAUTH_APP.app_id, location_id)
        else:
            engine.oauth.uninstall(OAUTH_APP.app_id, location_id)
    except (ValueError, TypeError, KeyError) as exc:
        return _problem(400, str(exc.args[0] if exc.args else exc))
    return JSONResponse(agency_json(engine))


routes = [
    Route("/_sandbox/oauth-app", oauth_app, methods=["GET"]),
    Route("/_sandbox/agency", agency, methods=["GET"]),
    Route("/_sandbox/agency/locations", agency_locations, methods=["POST"]),
    Route("/_sandbox/agency/installs", installs, methods=["POST"]),
]
