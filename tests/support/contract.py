"""The real client against the real sandbox, in-process and over loopback HTTP.

The sandbox is written from the spec without importing the client, so a field name that
is wrong in one of them shows up here.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from ghl_sms._clock import Clock, FakeClock, SystemClock
from ghl_sms.ghl import GhlClient, RetryPolicy
from ghl_sms.sandbox import DEMO_LOCATION_ID, DEMO_TOKEN, Sandbox
from support.stack import WEEKDAY_NOON

AVA = "sbxCtReachable000001"


@dataclass
class Target:
    """One way of reaching a sandbox, with its test controls."""

    kind: str
    base_url: str
    transport: httpx2.AsyncBaseTransport | None
    clock: Clock
    sandbox: Sandbox | None = None

    def client(self, token: str = DEMO_TOKEN, location_id: str = DEMO_LOCATION_ID) -> GhlClient:
        return GhlClient(
            token=token,
            location_id=location_id,
            base_url=self.base_url,
            transport=self.transport,
            clock=self.clock,
            rng=random.Random(0),
            retry=RetryPolicy(max_retries=1, initial_delay=0.05),
        )

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        """The sandbox's own controls (/_sandbox/...), over the same route as the client."""
        async with httpx2.AsyncClient(base_url=self.base_url, transport=self.transport) as http:
            response = await http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    async def advance(self, seconds: float) -> None:
        if isinstance(self.clock, FakeClock):
            self.clock.advance(seconds)  # the sandbox shares this clock
        else:
            await self.control("POST", "/_sandbox/clock/advance", {"seconds": seconds})

    async def reply(self, contact_id: str, body: str) -> Any:
        return await self.control(
            "POST", "/_sandbox/reply", {"contactId": contact_id, "body": body}
        )


@pytest.fixture(scope="module")
def served_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`ghl-sms sandbox` as a real process on a free loopback port."""
    tmp = tmp_path_factory.mktemp("served")
    log = tmp / "sandbox.log"
    env = {**os.environ, "GHL_SMS_DATA_DIR": str(tmp), "HOME": str(tmp)}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ghl_sms", "sandbox", "--port", "0",
             "--db", str(tmp / "sb.db"), "--burst-limit", "1000000"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = log.read_text(encoding="utf-8").splitlines()
            if lines and "listening on" in lines[0]:
                yield lines[0].rsplit(" ", 1)[1].strip()
                break
            if process.poll() is not None:
                raise AssertionError(log.read_text(encoding="utf-8"))
            time.sleep(0.05)  # waiting for the process to bind, not timing anything
        else:
            raise AssertionError("the sandbox did not start")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["asgi", "http"])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    if request.param == "asgi":
        clock = FakeClock(WEEKDAY_NOON)
        sandbox = Sandbox(clock=clock)
        yield Target("asgi", sandbox.base_url, sandbox.transport(), clock, sandbox)
        sandbox.close()
    else:
        base_url = request.getfixturevalue("served_sandbox")
        httpx2.post(f"{base_url}/_sandbox/reset", json={"seed": True}).raise_for_status()
        httpx2.post(
            f"{base_url}/_sandbox/rate-limits", json={"burst": 1000000, "window": 10}
        ).raise_for_status()
        yield Target("http", base_url, None, SystemClock())
