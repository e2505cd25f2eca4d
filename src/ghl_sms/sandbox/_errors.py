"""GHL-shaped error bodies (ghl-api.md §2): NestJS style, ``statusCode`` + ``message``.

422 carries a list of messages (class-validator); every other status a string.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_request",
    "forbidden_location",
    "not_found",
    "unauthorized",
    "unprocessable",
]

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """Raised by a route; the app turns it into ``status`` with ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body


def _error(status: int, message: str | list[str]) -> ApiError:
    return ApiError(status, {"statusCode": status, "message": message, "error": _REASONS[status]})


def bad_request(message: str) -> ApiError:
    return _error(400, message)


def unauthorized(message: str) -> ApiError:
    return _error(401, message)


def forbidden_location() -> ApiError:
    return _error(403, "The token does not have access to this location.")


def forbidden(message: str) -> ApiError:
    return _error(403, message)


def not_found(message: str) -> ApiError:
    return _error(404, message)


def unprocessable(messages: list[str]) -> ApiError:
    return _error(422, messages)


def too_many_requests() -> dict[str, Any]:
    return {"statusCode": 429, "message": "Too Many Requests"}


def internal_error() -> dict[str, Any]:
    return {"statusCode": 500, "message": "Internal server error"}
