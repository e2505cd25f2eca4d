"""What every GHL route does before and after its own work.

Checks in GHL's order (ghl-api.md §11): token (401, including an expired OAuth token and
the wrong class of token: ``Token's user type mismatch!``), rate limit (429), ``Version``
header, scope (401); routes then check location access (403) and the body (422). Every
answer carries the five ``X-RateLimit-*`` headers. A PIT has its own rate-limit bucket;
OAuth tokens share one per app per location, or per app per company (§7).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ghl_sms.sandbox._auth import ACCEPTED_VERSIONS, AuthContext
from ghl_sms.sandbox._engine import SandboxEngine
from ghl_sms.sandbox._errors import ApiError, bad_request, too_many_requests, unauthorized

__all__ = ["JsonDict", "engine_of", "ghl_route", "json_body", "query_int"]

JsonDict = dict[str, Any]
Result = Response | JsonDict | tuple[int, JsonDict]
Handler = Callable[[Request, AuthContext], Awaitable[Result]]

CONVERSATIONS_VERSION = "2021-04-15"
CONTACTS_VERSION = "2021-07-28"


def engine_of(request: Request) -> SandboxEngine:
    engine: SandboxEngine = request.app.state.engine
    return engine


def ghl_route(
    scope: str, version: str, *, user_type: str = "Location"
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """``user_type``: the class of token the route takes ("Location": a PIT or a location
    OAuth token; "Company": an agency OAuth token)."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            engine = engine_of(request)
            now = engine.clock.now()
            try:
                await request.body()  # read first: the work below then runs without suspending
            except ClientDisconnect:
                # The caller went away mid-request (a killed process): nothing was done.
                return Response(status_code=499)
            with engine.transaction():  # one commit per request, carrier progress included
                engine.process_due(now)
                try:
                    ctx = engine.authenticate(request.headers.get("authorization"))
                    if ctx.user_type != user_type:
                        raise unauthorized("Token's user type mismatch!")
                except ApiError as exc:
                    return _json(exc.status, exc.body, engine.limiter.untouched_headers())
                allowed, headers = engine.limiter.hit(ctx.bucket, now)
                if not allowed:
                    return _json(429, too_many_requests(), headers)
                try:
                    _check_version(request.headers.get("version"), version, engine.strict_version)
                    if scope not in ctx.scopes:
                        raise unauthorized("The token is not authorized for this scope.")
                    result = await handler(request, ctx)
                except ApiError as exc:
                    return _json(exc.status, exc.body, headers)
            if isinstance(result, Response):
                result.headers.update(dict(headers))
                return result
            if isinstance(result, tuple):
                return _json(result[0], result[1], headers)
            return _json(200, result, headers)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return decorate


def _check_version(value: str | None, expected: str, strict: bool) -> None:
    if value is None:
        raise bad_request("Version header was not found")
    if value not in ACCEPTED_VERSIONS or (strict and value != expected):
        raise bad_request(f"Version {value!r} is not supported")


def _json(status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
    return JSONResponse(body, status_code=status, headers=dict(headers))


async def json_body(request: Request) -> JsonDict:
    """The JSON object in the body; an empty body reads as ``{}``, as body-parser does."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        raise bad_request(f"Unexpected token in JSON at position {position}") from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object")
    return data


def query_int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except (ValueError, OverflowError) as exc:
        raise ApiError(
            422,
            {
                "statusCode": 422,
                "message": [f"{name} must be a number conforming to the specified constraints"],
                "error": "Unprocessable Entity",
            },
        ) from exc
    return min(max(value, low), high)
