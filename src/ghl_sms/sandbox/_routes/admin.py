"""``/_sandbox/*``: controls that are not part of GHL. No token needed (a local dev tool)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghl_sms.sandbox._auth import ALL_SCOPES
from ghl_sms.sandbox._ratelimit import Limits
from ghl_sms.sandbox._routes._gate import engine_of
from ghl_sms.sandbox._shapes import iso, message_json

__all__ = ["routes"]

JsonDict = dict[str, Any]


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"statusCode": status, "message": message}, status_code=status)


async def _body(request: Request) -> JsonDict:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


async def _safely(request: Request, work: Callable[[Request], Awaitable[Response]]) -> Response:
    try:
        return await work(request)
    except (ValueError, TypeError, KeyError) as exc:  # bad input from a local developer
        text = exc.args[0] if exc.args else str(exc)
        return _problem(400, str(text))


async def state(request: Request) -> Response:
    engine = engine_of(request)
    engine.process_due()
    return JSONResponse(engine.state())


async def reset(request: Request) -> Response:
    async def work(request: Request) -> Response:
        body = await _body(request)
        engine = engine_of(request)
        engine.reset(with_seed=bool(body.get("seed", True)))
        return JSONResponse(engine.state())

    return await _safely(request, work)


async def seed(request: Request) -> Response:
    return JSONResponse({"seedIds": engine_of(request).seed()})


async def clock(request: Request) -> Response:
    now = engine_of(request).clock.now()
    return JSONResponse({"now": iso(now), "epoch": now})


async def advance_clock(request: Request) -> Response:
    async def work(request: Request) -> Response:
        body = await _body(request)
        engine = engine_of(request)
        applied = engine.advance(_number(body.get("seconds"), "seconds"))
        now = engine.clock.now()
        return JSONResponse({"now": iso(now), "epoch": now, "transitions": applied})

    return await _safely(request, work)


async def reply(request: Request) -> Response:
    async def work(request: Request) -> Response:
        body = await _body(request)
        contact_id, text = body.get("contactId"), body.get("body", body.get("message"))
        if not isinstance(contact_id, str) or not isinstance(text, str):
            raise ValueError('send {"contactId": ..., "body": ...}')
        attachments = body.get("attachments") or []
        engine = engine_of(request)
        engine.process_due()
        row, kind = engine.reply(contact_id, text, list(attachments))
        return JSONResponse(
            {"message": message_json(row), "keyword": None if kind is None else kind.value}
        )

    return await _safely(request, work)


async def faults(request: Request) -> Response:
    engine = engine_of(request)
    if request.method == "DELETE":
        engine.faults.clear()
    elif request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            engine.faults.add(
                str(body.get("kind")),
                int(body.get("count", 1)),
                body.get("path"),
                body.get("method"),
            )
            return JSONResponse({"faults": [f.as_json() for f in engine.faults.pending()]})

        return await _safely(request, work)
    return JSONResponse({"faults": [f.as_json() for f in engine.faults.pending()]})


async def carrier(request: Request) -> Response:
    """Per-number carrier behaviour: ``{"phone", "outcome", "code", "delay"}``."""
    overrides = engine_of(request).carrier
    if request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            phone = body.get("phone")
            if not isinstance(phone, str):
                raise ValueError('send {"phone": "+1...", "outcome": "delivered"|"failed"|...}')
            overrides.set(
                phone,
                str(body.get("outcome", "delivered")),
                None if body.get("code") is None else str(body.get("code")),
                body.get("delay", 0.0),
            )
            return JSONResponse({"carrier": overrides.as_json()})

        return await _safely(request, work)
    if request.method == "DELETE":
        overrides.clear(request.query_params.get("phone"))
    return JSONResponse({"carrier": overrides.as_json()})


async def webhook_targets(request: Request) -> Response:
    engine = engine_of(request)
    outbox = engine.outbox
    if request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            url = body.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError("url must be an http(s) URL")
            events = body.get("events")
            target = outbox.add_target(url, events=None if events is None else frozenset(events))
            return JSONResponse(target.as_json(), status_code=201)

        return await _safely(request, work)
    if request.method == "DELETE":
        raw_id = request.query_params.get("id")
        await outbox.remove_target(None if raw_id is None else int(raw_id))
    return JSONResponse({"targets": [t.as_json() for t in outbox.targets]})


async def deliver_webhooks(request: Request) -> Response:
    engine = engine_of(request)
    engine.process_due()
    attempted = await engine.outbox.deliver(engine.clock.now())
    return JSONResponse(
        {
            "attempted": attempted,
            "pending": len(engine.outbox.queue),
            "log": list(engine.outbox.log)[-attempted:] if attempted else [],
        }
    )


async def webhook_keys(request: Request) -> Response:
    keys = engine_of(request).outbox.signer.public_keys()
    return JSONResponse(
        {
            **keys,
            "rsaBits": 2048,
            "headers": {"rsa": "x-wh-signature", "ed25519": "x-ghl-signature"},
        }
    )


async def tokens(request: Request) -> Response:
    engine = engine_of(request)
    if request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            scopes = body.get("scopes")
            token = engine.create_token(
                str(body.get("locationId")), None if scopes is None else list(scopes)
            )
            return JSONResponse(
                {
                    "token": token,
                    "locationId": body.get("locationId"),
                    "scopes": scopes or list(ALL_SCOPES),
                },
                status_code=201,
            )

        return await _safely(request, work)
    return JSONResponse(
        {
            "tokens": [
                {"token": t, "locationId": loc, "scopes": s}
                for t, loc, s in engine.store.list_tokens()
            ]
        }
    )


async def locations(request: Request) -> Response:
    engine = engine_of(request)
    if request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            numbers = body.pop("numbers", [])
            location = engine.create_location(body)
            for index, phone in enumerate(numbers):
                engine.add_number(location["id"], str(phone), is_default=index == 0)
            token = engine.create_token(location["id"])
            return JSONResponse({"location": location, "token": token}, status_code=201)

        return await _safely(request, work)
    return JSONResponse({"locations": engine.store.list_locations()})


async def rate_limits(request: Request) -> Response:
    engine = engine_of(request)
    if request.method == "POST":

        async def work(request: Request) -> Response:
            body = await _body(request)
            current = engine.limiter.limits
            engine.limiter.set_limits(
                Limits(
                    burst=int(body.get("burst", current.burst)),
                    window=float(body.get("window", current.window)),
                    daily=int(body.get("daily", current.daily)),
                )
            )
            return JSONResponse(_limits_json(engine.limiter.limits))

        return await _safely(request, work)
    return JSONResponse(_limits_json(engine.limiter.limits))


def _limits_json(limits: Limits) -> JsonDict:
    return {"burst": limits.burst, "window": limits.window, "daily": limits.daily}


async def media(request: Request) -> Response:
    found = engine_of(request).store.get_media(request.path_params["mediaId"])
    if found is None:
        return _problem(404, "No such media")
    _filename, content_type, data = found
    return Response(data, media_type=content_type)


routes = [
    Route("/_sandbox/state", state, methods=["GET"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/seed", seed, methods=["POST"]),
    Route("/_sandbox/clock", clock, methods=["GET"]),
    Route("/_sandbox/clock/advance", advance_clock, methods=["POST"]),
    Route("/_sandbox/reply", reply, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/carrier", carrier, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/webhook-targets", webhook_targets, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/webhooks/deliver", deliver_webhooks, methods=["POST"]),
    Route("/_sandbox/webhook-keys", webhook_keys, methods=["GET"]),
    Route("/_sandbox/tokens", tokens, methods=["GET", "POST"]),
    Route("/_sandbox/locations", locations, methods=["GET", "POST"]),
    Route("/_sandbox/rate-limits", rate_limits, methods=["GET", "POST"]),
    Route("/_sandbox/media/{mediaId}/{filename}", media, methods=["GET"]),
]
