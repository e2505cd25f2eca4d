import httpx2
import pytest

from ghl_sms._clock import FakeClock
from ghl_sms.sandbox import Sandbox

pytestmark = pytest.mark.anyio


def limits(response: httpx2.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")}


async def test_every_answer_carries_the_five_headers(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    response = await http.get(f"/contacts/{sb.seed_ids['reachable']}")
    assert limits(response) == {
        "x-ratelimit-limit-daily": "200000",
        "x-ratelimit-daily-remaining": "199999",
        "x-ratelimit-interval-milliseconds": "10000",
        "x-ratelimit-max": "100",
        "x-ratelimit-remaining": "99",
    }


async def test_the_101st_request_in_ten_seconds_gets_429_until_the_window_passes(
    sb: Sandbox, http: httpx2.AsyncClient, clock: FakeClock
) -> None:
    url = f"/contacts/{sb.seed_ids['reachable']}"
    for _ in range(100):
        assert (await http.get(url)).status_code == 200
    refused = await http.get(url)
    assert refused.status_code == 429
    assert refused.json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert limits(refused)["x-ratelimit-remaining"] == "0"
    clock.advance(10)
    assert (await http.get(url)).status_code == 200


async def test_the_daily_quota_is_separate_and_settable(clock: FakeClock) -> None:
    async with Sandbox(clock=clock, burst_limit=1000, daily_limit=3) as sb, sb.client() as http:
        url = f"/contacts/{sb.seed_ids['reachable']}"
        codes = [(await http.get(url)).status_code for _ in range(4)]
        clock.advance(86_400)
        next_day = await http.get(url)
    assert codes == [200, 200, 200, 429]
    assert limits(next_day)["x-ratelimit-daily-remaining"] == "2"


async def test_each_token_has_its_own_bucket(clock: FakeClock) -> None:
    async with Sandbox(clock=clock, burst_limit=2, burst_window=1.0) as sb:
        other = sb.create_token(sb.location_id)
        url = f"/contacts/{sb.seed_ids['reachable']}"
        async with sb.client() as first, sb.client(token=other) as second:
            codes = [(await first.get(url)).status_code for _ in range(3)]
            separate = await second.get(url)
        assert codes == [200, 200, 429]
        assert separate.status_code == 200
        assert limits(separate)["x-ratelimit-interval-milliseconds"] == "1000"


async def test_limits_can_change_at_run_time(sb: Sandbox, http: httpx2.AsyncClient) -> None:
    sb.set_rate_limits(burst=1)
    url = f"/contacts/{sb.seed_ids['reachable']}"
    assert [(await http.get(url)).status_code for _ in range(2)] == [200, 429]
