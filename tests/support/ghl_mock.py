from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import GhlClient, RateLimits
from support.data import SPEC_DIR

Handler = Callable[[httpx2.Request], httpx2.Response]


@dataclass
class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    answers: list[httpx2.Response | Exception | Handler] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    default: httpx2.Response | None = None

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        answer: Any = self.answers.pop(0) if self.answers else self.default
        if answer is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx2.Response):
            return answer(request)
        return answer

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def make_client(
    recorder: Recorder,
    *,
    clock: FakeClock | None = None,
    token: str = "pit-test-token",
    rate_limits: RateLimits | None = None,
) -> GhlClient:
    return GhlClient(
        token=token,
        location_id="loc123",
        base_url="https://ghl.test",
        transport=httpx2.MockTransport(recorder),
        clock=clock or FakeClock(),
        rng=random.Random(0),
        rate_limits=rate_limits,
    )


def spec(name: str) -> dict[str, Any]:
    with open(SPEC_DIR / name, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def spec_properties(spec_file: str, schema: str) -> set[str]:
    return set(spec(spec_file)["components"]["schemas"][schema]["properties"])


def spec_query_params(spec_file: str, path: str, method: str) -> set[str]:
    operation = spec(spec_file)["paths"][path][method]
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
