"""Contract of the RateLimiter: at most ``limit`` per window per (name, key); a refused request is counted nowhere."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from restosync_adapters.redis.clients import make_async_redis
from restosync_adapters.redis.rate_limiter import RedisRateLimiter
from restosync_core.ports.rate_limit import RateCharge, RateLimiter
from tests.conftest import REDIS_URL
from tests.fakes.agents import FakeRateLimiter

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["fake", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "fake":
        yield FakeRateLimiter()
        return
    prefix: str = request.getfixturevalue("redis_ns")
    redis = make_async_redis(REDIS_URL)
    try:
        yield RedisRateLimiter(redis, prefix)
    finally:
        await redis.aclose()


async def admitted(limiter: RateLimiter, charges: list[RateCharge], times: int) -> list[bool]:
    return [(await limiter.hit(charges)).allowed for _ in range(times)]


async def test_a_limit_admits_its_count_then_refuses_naming_itself_and_when_to_come_back(limiter: RateLimiter) -> None:
    charge = RateCharge("register", "10.0.0.1", limit=3, window_seconds=60)

    assert await admitted(limiter, [charge], 3) == [True, True, True]
    refusal = await limiter.hit([charge])

    assert (refusal.allowed, refusal.exceeded) == (False, charge)
    assert 1 <= refusal.retry_after_seconds <= 60


async def test_each_name_and_key_counts_on_its_own(limiter: RateLimiter) -> None:
    one = RateCharge("sync", "agent-1", limit=1)

    assert await admitted(limiter, [one], 1) == [True]
    assert await admitted(limiter, [RateCharge("sync", "agent-2", limit=1)], 1) == [True]
    assert await admitted(limiter, [RateCharge("heartbeat", "agent-1", limit=1)], 1) == [True]
    assert await admitted(limiter, [one], 1) == [False]


async def test_a_request_refused_by_one_limit_is_counted_in_none(limiter: RateLimiter) -> None:
    tight = RateCharge("register", "10.0.0.1", limit=1)
    loose = RateCharge("global", "10.0.0.1", limit=3)

    assert await admitted(limiter, [loose, tight], 2) == [True, False]
    refusal = await limiter.hit([loose, tight])

    assert refusal.exceeded == tight
    assert await admitted(limiter, [loose], 3) == [True, True, False]  # counted once, by the first request


async def test_no_charge_is_always_admitted(limiter: RateLimiter) -> None:
    assert (await limiter.hit([])).allowed
