"""Small helpers every console route shares: the state, JSON in and out, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ghl_sms.console._core import ConsoleCore
from ghl_sms.ghl import GhlError, RateLimitError
from ghl_sms.ops.errors import OpsError, PreflightBlocked, RecipientNotFound, UsageError

__all__ = ["BadInput", "core_of", "guarded", "json_body", "jsonable", "ok", "problem"]

logger = logging.getLogger("ghl_sms.console")

Handler = Callable[[Request], Awaitable[Response]]


class BadInput(ValueError):
    """The page sent something the route can't use; the message says what."""


def core_of(request: Request) -> ConsoleCore:
    core = request.app.state.core
    assert isinstance(core, ConsoleCore)
    return core


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def ok(value: Any, status: int = 200) -> Response:
    return JSONResponse(jsonable(value), status_code=status)


def problem(status: int, code: str, message: str, hint: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if hint:
        error["hint"] = hint
    return JSONResponse({"error": error}, status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise BadInput("The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise BadInput("The request body must be a JSON object.")
    return data


def _code(exc: Exception) -> str:
    name = type(exc).__name__.removesuffix("Error")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def guarded(handler: Handler) -> Handler:
    """Turns anticipated errors into a JSON ``error`` the page shows, never a 500 page."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BadInput as exc:
            return problem(400, "usage", str(exc))
        except PreflightBlocked as exc:
            notes = [r.to_dict() for r in exc.verdict.reasons]
            return JSONResponse(
                {"error": {"code": "blocked", "message": str(exc), "notes": notes}},
                status_code=422,
            )
        except UsageError as exc:
            return problem(400, _code(exc) or "usage", str(exc))
        except RateLimitError as exc:
            return problem(429, "rate_limit", str(exc), "Wait a moment and try again.")
        except RecipientNotFound as exc:
            return problem(404, "recipient_not_found", str(exc))
        except (OpsError, GhlError) as exc:
            return problem(502 if isinstance(exc, GhlError) else 409, _code(exc), str(exc))

    return run
