"""Pacing under GHL's limits and retrying what is safe, on an injected clock."""

from __future__ import annotations

import bisect
import random
from functools import partial

import anyio
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghl_sms._clock import FakeClock
from ghl_sms.ghl import (
    RateLimitError,
    RateLimits,
    RequestTimeout,
    RetryPolicy,
    SlidingWindowPacer,
)
from ghl_sms.ghl._pacing import next_slot
from support.ghl_mock import Recorder, make_client

SENT = {"conversationId": "c", "messageId": "m"}


def max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)), default=0
    )


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), max_size=300),
    burst=st.integers(min_value=1, max_value=20),
    window=st.floats(min_value=0.5, max_value=20, allow_nan=False),
)
def test_reserved_slots_never_put_more_than_burst_in_any_window(
    gaps: list[float], burst: int, window: float
) -> None:
    now, history = 0.0, []
    for gap in gaps:
        now += gap
        slot = next_slot(history, now, burst, window)
        assert slot >= now
        bisect.insort(history, slot)
    assert max_in_any_window(history, window) <= burst


def test_next_slot_is_now_while_the_window_has_room() -> None:
    assert next_slot([1.0, 2.0], 5.0, burst=3, window=10.0) == 5.0
    assert next_slot([1.0, 2.0, 3.0], 5.0, burst=3, window=10.0) == 11.0
    assert next_slot([1.0, 2.0, 3.0], 12.5, burst=3, window=10.0) == 12.5
    assert next_slot([1.0, 2.0, 3.0, 11.0], 11.5, burst=3, window=10.0) == 12.0


@pytest.mark.anyio
async def test_250_requests_take_two_full_windows_and_never_exceed_the_burst(
    recorder: Recorder,
) -> None:
    clock = FakeClock()
    start = clock.now()
    sent_at: list[float] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent_at.append(clock.now())
        return httpx2.Response(200, json=SENT)

    recorder.default = httpx2.Response(200)
    recorder.answers += [answer] * 250
    client = make_client(recorder, clock=clock, rate_limits=RateLimits(margin=0.0))
    async with anyio.create_task_group() as group:
        for _ in range(250):
            group.start_soon(partial(client.send_message, contact_id="c", message="m"))
    assert len(sent_at) == 250
    assert max_in_any_window(sent_at, 10.0) <= 100
    assert clock.now() - start == pytest.approx(20.0)


@pytest.mark.anyio
async def test_headers_showing_another_spender_slow_us_down() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(clock, RateLimits(burst=100, window=10.0, margin=0.0))
    await pacer.acquire()
    # GHL counted 95 requests in this window; we made 1. Four are left, not 99.
    pacer.observe({"x-ratelimit-max": "100", "x-ratelimit-remaining": "5"})
    for _ in range(5):
        assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(10.0)


@pytest.mark.anyio
async def test_a_429_waits_and_retries_a_send_because_ghl_did_not_act_on_it(
    recorder: Recorder,
) -> None:
    clock = FakeClock()
    limited = httpx2.Response(
        429,
        json={"statusCode": 429, "message": "Too Many Requests"},
        headers={"x-ratelimit-max": "100", "x-ratelimit-remaining": "0",
                 "x-ratelimit-interval-milliseconds": "10000"},
    )  # fmt: skip
    recorder.answers += [limited, httpx2.Response(200, json=SENT)]
    client = make_client(recorder, clock=clock)
    result = await client.send_message(contact_id="c", message="m")
    assert result.message_id == "m"
    assert len(recorder.requests) == 2
    assert sum(clock.slept) >= 10.0  # the window GHL reported had to pass first


@pytest.mark.anyio
async def test_retry_after_is_honoured(recorder: Recorder) -> None:
    clock = FakeClock()
    recorder.answers += [
        httpx2.Response(429, headers={"Retry-After": "7"}),
        httpx2.Response(200, json={"contact": {"id": "c"}}),
    ]
    await make_client(recorder, clock=clock).get_contact("c")
    assert 7.0 <= sum(clock.slept) < 7.5


@pytest.mark.anyio
async def test_the_daily_limit_is_not_retried_and_then_nothing_is_sent(
    recorder: Recorder,
) -> None:
    recorder.answers.append(
        httpx2.Response(429, headers={"x-ratelimit-daily-remaining": "0",
                                      "x-ratelimit-limit-daily": "200000"})
    )  # fmt: skip
    client = make_client(recorder)
    with pytest.raises(RateLimitError) as info:
        await client.get_contact("c")
    assert info.value.daily_exhausted and not info.value.retryable
    with pytest.raises(RateLimitError):
        await client.get_contact("c")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.anyio
async def test_reads_retry_server_errors_with_backoff(recorder: Recorder, status: int) -> None:
    clock = FakeClock()
    recorder.answers += [httpx2.Response(status), httpx2.Response(status)]
    recorder.answers.append(httpx2.Response(200, json={"contact": {"id": "c"}}))
    contact = await make_client(recorder, clock=clock).get_contact("c")
    assert contact.id == "c"
    assert len(clock.slept) == 2 and clock.slept[1] > clock.slept[0] * 0.5


@pytest.mark.anyio
async def test_reads_retry_timeouts_until_the_policy_gives_up(recorder: Recorder) -> None:
    recorder.answers += [httpx2.ReadTimeout("slow")] * 4
    with pytest.raises(RequestTimeout):
        await make_client(recorder).get_contact("c")
    assert len(recorder.requests) == 4  # 1 + max_retries


def test_a_send_that_got_a_500_is_not_retried() -> None:
    policy = RetryPolicy()
    assert not policy.should_retry(attempt=0, status=500, reached_server=True, idempotent=False)
    assert not policy.should_retry(attempt=0, status=None, reached_server=True, idempotent=False)
    assert policy.should_retry(attempt=0, status=None, reached_server=False, idempotent=False)
    assert policy.should_retry(attempt=0, status=429, reached_server=True, idempotent=False)
    assert not policy.should_retry(attempt=0, status=400, reached_server=True, idempotent=True)


@given(attempt=st.integers(min_value=0, max_value=20), seed=st.integers())
def test_backoff_stays_between_a_floor_and_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy()
    delay = policy.delay(attempt, random.Random(seed))
    assert policy.initial_delay / 2 <= delay <= policy.max_delay
