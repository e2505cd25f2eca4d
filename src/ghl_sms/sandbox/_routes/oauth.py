"""``/oauth/*``: GHL's three OAuth endpoints and a stand-in for the marketplace's
authorize page (``/oauth/chooselocation``, also under ``/v2/``).

The two POSTs take ``application/x-www-form-urlencoded`` bodies only, as the spec
declares; anything else (JSON included) is refused with a 400.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ghl_sms.sandbox._auth import AuthContext
from ghl_sms.sandbox._errors import ApiError
from ghl_sms.sandbox._oauth import AuthorizeError, AuthorizeRequest
from ghl_sms.sandbox._routes._gate import CONTACTS_VERSION, JsonDict, engine_of, ghl_route

__all__ = ["FORM_CONTENT_TYPE", "routes"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_APPROVE = frozenset({"1", "true", "yes"})


async def form_body(request: Request) -> dict[str, str]:
    """The url-encoded form; a JSON (or any other) body is refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        # The token endpoint's 400s carry no "error" (the v3 spec's examples); a guess.
        message = "Invalid request: content must be application/x-www-form-urlencoded"
        raise ApiError(400, {"statusCode": 400, "message": message})
    raw = await request.body()
    return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))


# -- POST /oauth/token ------------------------------------------------------------------


async def token(request: Request) -> Response:
    engine = engine_of(request)
    headers = dict(engine.limiter.untouched_headers())
    try:
        form = await form_body(request)
        body = engine.oauth.token(form)
    except ClientDisconnect:
        return Response(status_code=499)
    except ApiError as exc:
        return JSONResponse(exc.body, status_code=exc.status, headers=headers)
    return JSONResponse(body, headers=headers)


# -- agency routes (Company token) ------------------------------------------------------


@ghl_route("oauth.write", CONTACTS_VERSION, user_type="Company")
async def location_token(request: Request, ctx: AuthContext) -> tuple[int, JsonDict]:
    form = await form_body(request)
    # 201: what the live API answers (a third party's measurement; the spec says 200).
    return 201, engine_of(request).oauth.location_token(ctx, form)


@ghl_route("oauth.readonly", CONTACTS_VERSION, user_type="Company")
async def installed_locations(request: Request, ctx: AuthContext) -> JsonDict:
    if request.headers.get("version") == "v3":
        # GHL's answer since v3 moved it to /oauth/installed-locations (ISSUE #304).
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise ApiError(
            400,
            {
                "message": f"Endpoint {url} not available in API version v3. This endpoint "
                "was removed in version v3. Please use a version before v3.",
                "error": "Bad Request",
                "statusCode": 400,
            },
        )
    return engine_of(request).oauth.installed_locations(ctx, request.query_params)


# -- the authorize page -----------------------------------------------------------------


async def choose_location(request: Request) -> Response:
    """GET: the consent page (or, with ``approve=1``, the redirect at once).
    POST (the page's form): the redirect to ``redirect_uri?code=...``."""
    engine = engine_of(request)
    params: Mapping[str, str] = request.query_params
    if request.method == "POST":
        try:
            raw = await request.body()
        except ClientDisconnect:
            return Response(status_code=499)
        params = {**request.query_params,
                  **dict(parse_qsl(raw.decode("utf-8", errors="replace")))}  # fmt: skip
    try:
        wanted = engine.oauth.check_authorize(params)
        approve = request.method == "POST" or any(
            (params.get(flag) or "").lower() in _APPROVE for flag in ("approve", "auto")
        )
        if not approve:
            return HTMLResponse(_page(wanted, engine.oauth.choices(wanted.app)))
        code = engine.oauth.issue_code(wanted, params.get("location_id") or None)
    except AuthorizeError as exc:
        return HTMLResponse(_error_page(str(exc)), status_code=400)
    return RedirectResponse(engine.oauth.redirect_url(wanted, code), status_code=302)


def _page(wanted: AuthorizeRequest, choices: list[JsonDict]) -> str:
    e = html.escape
    hidden = {
        "response_type": "code",
        "client_id": wanted.app.client_id,
        "redirect_uri": wanted.redirect_uri,
        "scope": " ".join(wanted.scopes),
        **({"state": wanted.state} if wanted.state is not None else {}),
    }
    fields = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in hidden.items()
    )
    options = "".join(
        f'<label><input type="radio" name="location_id" value="{e(c["value"])}"'
        f"{' checked' if i == 0 else ''}> {e(c['label'])}</label><br>"
        for i, c in enumerate(choices)
    )
    scopes = "".join(f"<li><code>{e(s)}</code></li>" for s in wanted.scopes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>GHL sandbox: authorize "
        f"{e(str(wanted.app.data.get('name')))}</title></head><body>"
        f"<h1>Install {e(str(wanted.app.data.get('name')))}</h1>"
        "<p>This is the ghl-sms sandbox's stand-in for GHL's marketplace consent page. "
        "No login: choose who the token is for and allow.</p>"
        f"<p>The app asks for:</p><ul>{scopes}</ul>"
        f'<form method="post">{fields}{options}'
        '<p><button type="submit">Allow &amp; Install</button></p></form>'
        f"<p>Redirects to <code>{e(wanted.redirect_uri)}</code>. Without a browser, add "
        "<code>&amp;approve=1</code> to this page's URL (and <code>&amp;location_id=...</code> "
        "for a sub-account's token) and follow the 302.</p></body></html>"
    )


def _error_page(message: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>GHL sandbox: "
        "authorization refused</title></head><body><h1>Authorization refused</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )


routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/locationToken", location_token, methods=["POST"]),
    Route("/oauth/installedLocations", installed_locations, methods=["GET"]),
    Route("/oauth/chooselocation", choose_location, methods=["GET", "POST"]),
    Route("/v2/oauth/chooselocation", choose_location, methods=["GET", "POST"]),
]
