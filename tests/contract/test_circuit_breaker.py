"""Contract of the CircuitBreaker, driven through the injected clock (no sleeps).

The policy is the core's (``restosync_core.policies.breaker``): with the default,
a breaker opens when a failure leaves >= 50 % failed of >= 5 calls in its window,
refuses calls for ``reset_timeout_seconds``, then lets one probe through.

The Redis breaker trusts a "closed" it read for ``state_refresh_seconds`` of
``time.monotonic()`` (not the clock) before counting good calls in Redis; it runs
here with 0, so every call reaches Redis and nothing depends on real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.redis.clients import make_async_redis
from restosync_core.errors import AgentRefused, AgentUnavailable, CircuitOpen
from restosync_core.model.delivery import BreakerKey, BreakerState
from restosync_core.model.ids import VendorId
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.ports.breaker import CircuitBreaker
from tests.conftest import REDIS_URL
from tests.fakes import FakeClock
from tests.fakes.orders import FakeCircuitBreaker

pytestmark = pytest.mark.anyio

KEY = BreakerKey(VendorId("vendor-1"), "orders")
OTHER = BreakerKey(VendorId("vendor-0"), "orders")
POLICY = BreakerPolicy(reset_timeout_seconds=60.0, window_seconds=10.0, volume_threshold=5)


@dataclass
class Breakers:
    breaker: CircuitBreaker
    clock: FakeClock


@pytest.fixture(params=["fake", "redis"])
async def breakers(request: pytest.FixtureRequest) -> AsyncIterator[Breakers]:
    clock = FakeClock()
    if request.param == "fake":
        yield Breakers(FakeCircuitBreaker(clock, POLICY), clock)
        return
    prefix: str = request.getfixturevalue("redis_ns")
    redis = make_async_redis(REDIS_URL)
    try:
        yield Breakers(RedisCircuitBreaker(redis, prefix, POLICY, clock, state_refresh_seconds=0.0), clock)
    finally:
        await redis.aclose()


async def ok() -> str:
    return "ok"


async def down() -> None:
    raise AgentUnavailable("connection refused")


async def refused() -> None:
    raise AgentRefused("the agent answered 422", status_code=422)


async def fail(breaker: CircuitBreaker, times: int, key: BreakerKey = KEY) -> None:
    for _ in range(times):
        with pytest.raises(AgentUnavailable):
            await breaker.call(key, down)


async def state(breaker: CircuitBreaker, key: BreakerKey = KEY) -> BreakerState:
    return {s.key: s.state for s in await breaker.status()}[key]


async def test_a_closed_breaker_runs_the_call_and_gives_back_its_result_or_its_error(breakers: Breakers) -> None:
    assert await breakers.breaker.call(KEY, ok) == "ok"
    with pytest.raises(AgentUnavailable, match="connection refused"):
        await breakers.breaker.call(KEY, down)

    (status,) = await breakers.breaker.status()
    assert (status.key, status.state, status.successes, status.failures) == (KEY, BreakerState.CLOSED, 1, 1)


async def test_it_opens_when_a_failure_leaves_half_the_calls_of_a_full_window_failed(breakers: Breakers) -> None:
    for _ in range(3):
        await breakers.breaker.call(KEY, ok)
    await fail(breakers.breaker, 2)
    assert await state(breakers.breaker) is BreakerState.CLOSED  # 2 of 5

    await fail(breakers.breaker, 1)  # 3 of 6

    assert await state(breakers.breaker) is BreakerState.OPEN
    (status,) = await breakers.breaker.status()
    assert status.opened_at == breakers.clock.now()
    assert status.half_open_at == breakers.clock.now() + timedelta(seconds=60)


async def test_an_open_breaker_refuses_calls_without_running_them_until_its_reset_time(breakers: Breakers) -> None:
    await fail(breakers.breaker, 5)
    opened = breakers.clock.now()
    ran = []

    async def counted() -> None:
        ran.append(1)

    breakers.clock.advance(seconds=59)
    with pytest.raises(CircuitOpen) as refusal:
        await breakers.breaker.call(KEY, counted)

    assert ran == []
    assert refusal.value.retry_at == opened + timedelta(seconds=60)


async def test_a_permanent_refusal_does_not_count_as_a_failure(breakers: Breakers) -> None:
    for _ in range(6):
        with pytest.raises(AgentRefused):
            await breakers.breaker.call(KEY, refused)

    assert await state(breakers.breaker) is BreakerState.CLOSED
    (status,) = await breakers.breaker.status()
    assert (status.successes, status.failures) == (6, 0)


async def test_failures_older_than_the_window_no_longer_count(breakers: Breakers) -> None:
    await fail(breakers.breaker, 4)
    breakers.clock.advance(seconds=30)

    await fail(breakers.breaker, 1)

    assert await state(breakers.breaker) is BreakerState.CLOSED


async def test_after_the_reset_time_it_is_half_open_and_a_good_probe_closes_it(breakers: Breakers) -> None:
    await fail(breakers.breaker, 5)
    breakers.clock.advance(seconds=60)
    assert await state(breakers.breaker) is BreakerState.HALF_OPEN

    assert await breakers.breaker.call(KEY, ok) == "ok"

    (status,) = await breakers.breaker.status()
    assert (status.state, status.successes, status.failures, status.opened_at) == (BreakerState.CLOSED, 0, 0, None)


async def test_a_failed_probe_opens_it_again_from_that_moment(breakers: Breakers) -> None:
    await fail(breakers.breaker, 5)
    breakers.clock.advance(seconds=60)

    await fail(breakers.breaker, 1)

    assert await state(breakers.breaker) is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refusal:
        await breakers.breaker.call(KEY, ok)
    assert refusal.value.retry_at == breakers.clock.now() + timedelta(seconds=60)


async def test_only_one_probe_goes_through_while_half_open(breakers: Breakers) -> None:
    await fail(breakers.breaker, 5)
    breakers.clock.advance(seconds=60)
    second: list[BaseException] = []

    async def probe() -> str:
        try:
            await breakers.breaker.call(KEY, ok)
        except CircuitOpen as exc:
            second.append(exc)
        return "probed"

    assert await breakers.breaker.call(KEY, probe) == "probed"

    assert len(second) == 1
    assert await state(breakers.breaker) is BreakerState.CLOSED


async def test_reset_closes_an_open_breaker_with_an_empty_window(breakers: Breakers) -> None:
    await fail(breakers.breaker, 5)

    status = await breakers.breaker.reset(KEY)

    assert (status.key, status.state, status.successes, status.failures) == (KEY, BreakerState.CLOSED, 0, 0)
    assert await breakers.breaker.call(KEY, ok) == "ok"


async def test_status_lists_every_breaker_called_in_key_order(breakers: Breakers) -> None:
    assert await breakers.breaker.status() == []
    await breakers.breaker.call(KEY, ok)
    await fail(breakers.breaker, 5, OTHER)

    assert [(s.key, s.state) for s in await breakers.breaker.status()] == [
        (OTHER, BreakerState.OPEN), (KEY, BreakerState.CLOSED)
    ]


async def test_an_error_that_is_not_about_the_agent_is_re_raised_and_does_not_trip_it(breakers: Breakers) -> None:
    async def bug() -> None:
        raise ValueError("a bug in the caller")

    for _ in range(6):
        with pytest.raises(ValueError, match="a bug in the caller"):
            await breakers.breaker.call(KEY, bug)

    assert await state(breakers.breaker) is BreakerState.CLOSED


async def test_a_caller_refused_during_the_probe_is_told_to_come_back_after_the_probe_retry_time(
    breakers: Breakers,
) -> None:
    await fail(breakers.breaker, 5)
    breakers.clock.advance(seconds=60)
    refusals: list[CircuitOpen] = []

    async def probe() -> None:
        try:
            await breakers.breaker.call(KEY, ok)
        except CircuitOpen as exc:
            refusals.append(exc)

    await breakers.breaker.call(KEY, probe)

    (refusal,) = refusals
    assert refusal.retry_at == breakers.clock.now() + timedelta(seconds=POLICY.probe_retry_seconds)
