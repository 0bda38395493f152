"""The Redis-shared breaker: two instances (as two processes would) see one state; one probe; one alert.

Time is the injected ``FakeClock``'s, for the window, the reset timeout and the
freshness of a trusted "closed" alike: the tests advance it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.redis.clients import make_async_redis
from restosync_adapters.settings import Settings
from restosync_core.errors import AgentUnavailable, CircuitOpen
from restosync_core.model.delivery import BreakerKey, BreakerState
from restosync_core.model.ids import VendorId
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.ports.alerts import Alert
from tests.fakes import FakeClock

KEY = BreakerKey(VendorId("vendor-1"), "orders")


class Alerts:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    async def send(self, alert: Alert) -> None:
        self.sent.append(alert)


async def _ok() -> str:
    return "ok"


async def _down() -> None:
    raise AgentUnavailable("connection refused")


async def _scenario(settings: Settings) -> dict[str, Any]:
    clock, alerts = FakeClock(), Alerts()
    one_redis, two_redis = make_async_redis(settings.redis_url), make_async_redis(settings.redis_url)
    one = RedisCircuitBreaker(one_redis, settings.redis_prefix, BreakerPolicy(), clock, alerts=alerts)
    two = RedisCircuitBreaker(two_redis, settings.redis_prefix, BreakerPolicy(), clock, alerts=alerts)
    seen: dict[str, Any] = {}
    try:
        for breaker in (one, two, one):
            await breaker.call(KEY, _ok)
        for breaker in (two, one):
            with pytest.raises(AgentUnavailable):
                await breaker.call(KEY, _down)
        seen["after 3 good 2 bad"] = (await two.status())[0].state
        with pytest.raises(AgentUnavailable):
            await two.call(KEY, _down)  # 3 of 6 failed: >= 50 % of >= 5 calls
        seen["after the 3rd failure"] = (await one.status())[0].state
        with pytest.raises(CircuitOpen) as refused:
            await one.call(KEY, _ok)
        seen["retry_at"] = refused.value.retry_at - clock.now()
        clock.advance(seconds=60)
        probe_started, release = asyncio.Event(), asyncio.Event()

        async def slow_probe() -> str:
            probe_started.set()
            await release.wait()
            return "probe ok"

        probe = asyncio.create_task(one.call(KEY, slow_probe))
        await probe_started.wait()
        with pytest.raises(CircuitOpen):
            await two.call(KEY, _ok)  # only one probe at a time, across processes
        release.set()
        seen["probe"] = await probe
        seen["after the probe"] = (await two.status())[0].state
        seen["alerts"] = [a.type.value for a in alerts.sent]
        for _ in range(5):
            with pytest.raises(AgentUnavailable):
                await one.call(KEY, _down)
        seen["reopened"] = (await two.status())[0].state
        seen["reset"] = (await two.reset(KEY)).state
        seen["after reset"] = await one.call(KEY, _ok)
    finally:
        await one_redis.aclose()
        await two_redis.aclose()
    return seen


def test_the_breaker_state_is_shared_opens_on_the_spec_rule_and_lets_one_probe_through(
    order_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "restosync_adapters.breaker"):
        seen = asyncio.run(_scenario(order_settings))
    transitions = [r.getMessage() for r in caplog.records if "->" in r.getMessage()]
    assert transitions == [
        f"circuit breaker {KEY}: closed -> open",
        f"circuit breaker {KEY}: open -> half_open",
        f"circuit breaker {KEY}: half_open -> closed",
        f"circuit breaker {KEY}: closed -> open",
        f"circuit breaker {KEY}: open -> closed",
    ], "each transition logged once, by the process that made it"
    assert seen["after 3 good 2 bad"] is BreakerState.CLOSED
    assert seen["after the 3rd failure"] is BreakerState.OPEN
    assert seen["retry_at"] == timedelta(seconds=60)
    assert seen["probe"] == "probe ok" and seen["after the probe"] is BreakerState.CLOSED
    assert seen["alerts"] == ["circuit_breaker_open"], "one alert per opening, whichever process saw it"
    assert seen["reopened"] is BreakerState.OPEN
    assert seen["reset"] is BreakerState.CLOSED and seen["after reset"] == "ok"


async def _lag(settings: Settings, refresh_seconds: float) -> dict[str, Any]:
    """``one`` calls often and well; ``two`` opens the breaker: when does ``one`` see it?"""
    clock = FakeClock()
    one_redis, two_redis = make_async_redis(settings.redis_url), make_async_redis(settings.redis_url)
    one = RedisCircuitBreaker(
        one_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=refresh_seconds
    )
    two = RedisCircuitBreaker(two_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=0)
    calls: list[str] = []

    async def counted() -> str:
        calls.append("one")
        return "ok"

    seen: dict[str, Any] = {}
    try:
        for _ in range(2):
            await one.call(KEY, counted)
        for _ in range(5):  # open by the 3rd failure if one's 2 good calls were counted, else by the 5th
            with pytest.raises((AgentUnavailable, CircuitOpen)):
                await two.call(KEY, _down)
        seen["state"] = (await two.status())[0].state
        try:
            seen["at once"] = await one.call(KEY, counted)
        except CircuitOpen:
            seen["at once"] = "refused"
        clock.advance(seconds=refresh_seconds)  # the breaker's freshness is read on its clock: no sleep
        try:
            seen["after the refresh time"] = await one.call(KEY, counted)
        except CircuitOpen:
            seen["after the refresh time"] = "refused"
        seen["agent calls from one"] = len(calls)
    finally:
        await one_redis.aclose()
        await two_redis.aclose()
    return seen


def test_a_process_trusts_a_closed_state_for_the_refresh_time_only(order_settings: Settings) -> None:
    seen = asyncio.run(_lag(order_settings, refresh_seconds=1.0))
    assert seen["state"] is BreakerState.OPEN
    assert seen["at once"] == "ok", "within BREAKER_STATE_REFRESH_MS the closed state it read is trusted"
    assert seen["after the refresh time"] == "refused"
    assert seen["agent calls from one"] == 3


def test_with_no_refresh_time_every_call_reads_the_shared_state(order_settings: Settings) -> None:
    seen = asyncio.run(_lag(order_settings, refresh_seconds=0))
    assert seen["at once"] == "refused" and seen["after the refresh time"] == "refused"
    assert seen["agent calls from one"] == 2


async def _counting(settings: Settings) -> dict[str, Any]:
    clock = FakeClock()
    one_redis, two_redis = make_async_redis(settings.redis_url), make_async_redis(settings.redis_url)
    one = RedisCircuitBreaker(one_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=1.0)
    two = RedisCircuitBreaker(two_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=0)
    seen: dict[str, Any] = {}

    async def counts() -> tuple[int, int]:
        status = await two.status()
        return (status[0].successes, status[0].failures) if status else (0, 0)

    try:
        for _ in range(4):
            await one.call(KEY, _ok)
        seen["4 good calls in quick succession"] = await counts()
        clock.advance(seconds=1)  # the refresh time, on the breaker's clock
        await one.call(KEY, _ok)  # the trusted state is stale: read again, with the pending counts
        seen["the next call after the refresh time"] = await counts()
        await one.call(KEY, _ok)
        with pytest.raises(AgentUnavailable):
            await one.call(KEY, _down)
        seen["a failure"] = await counts()
        await one.call(KEY, _ok)
        await one.flush()
        seen["flushed"] = await counts()
        await one.flush()
        seen["flushed twice"] = await counts()
    finally:
        await one_redis.aclose()
        await two_redis.aclose()
    return seen


def test_good_calls_are_counted_in_batches_and_failures_at_once_with_them(order_settings: Settings) -> None:
    seen = asyncio.run(_counting(order_settings))
    assert seen["4 good calls in quick succession"] == (0, 0), "counted with a later read, not one by one"
    assert seen["the next call after the refresh time"] == (4, 0)
    assert seen["a failure"] == (6, 1), "a failure is counted at once, with the good calls before it"
    assert seen["flushed"] == (7, 1)
    assert seen["flushed twice"] == (7, 1)


async def _long_traffic(settings: Settings) -> dict[str, Any]:
    clock = FakeClock()
    client = make_async_redis(settings.redis_url)
    breaker = RedisCircuitBreaker(client, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=0)
    seen: dict[str, Any] = {}
    try:
        for _ in range(120):  # two minutes of calls, one every half second
            await breaker.call(KEY, _ok)
            clock.advance(seconds=0.5)
        seen["fields"] = await client.hlen(f"{settings.redis_prefix}:breaker-window:{KEY}")
        seen["status"] = (await breaker.status())[0]
    finally:
        await client.aclose()
    return seen


def test_the_shared_window_keeps_only_the_slices_of_the_window(order_settings: Settings) -> None:
    seen = asyncio.run(_long_traffic(order_settings))
    # 10 s of 1 s slices (+ the current one): not one field per slice since the breaker's first call.
    assert seen["fields"] <= 12
    assert seen["status"].state is BreakerState.CLOSED
    assert seen["status"].successes == 20  # the last 10 s, two calls a second


async def _stepped_back(settings: Settings) -> dict[str, Any]:
    """``one`` trusts a closed state; the wall clock is stepped back (NTP): is it trusted for longer?"""
    clock = FakeClock()
    one_redis, two_redis = make_async_redis(settings.redis_url), make_async_redis(settings.redis_url)
    one = RedisCircuitBreaker(one_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=1.0)
    two = RedisCircuitBreaker(two_redis, settings.redis_prefix, BreakerPolicy(), clock, state_refresh_seconds=0)
    seen: dict[str, Any] = {}
    try:
        await one.call(KEY, _ok)  # reads "closed" and trusts it for 1 s
        await two.reset(KEY)
        for _ in range(5):
            with pytest.raises(AgentUnavailable):
                await two.call(KEY, _down)
        clock.advance(seconds=-30)
        try:
            seen["after the step back"] = await one.call(KEY, _ok)
        except CircuitOpen:
            seen["after the step back"] = "refused"
    finally:
        await one_redis.aclose()
        await two_redis.aclose()
    return seen


def test_a_clock_stepped_back_makes_a_trusted_closed_stale_not_fresh_for_longer(order_settings: Settings) -> None:
    seen = asyncio.run(_stepped_back(order_settings))
    assert seen["after the step back"] == "refused"
