"""RedisAdmission against the real Redis: one script charges the limits and reads ahead, each answer used once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from restosync_adapters.redis.admission import RedisAdmission
from restosync_adapters.redis.mapping_invalidation import RedisMappingInvalidation, generation_key
from restosync_adapters.redis.rate_limiter import RedisRateLimiter
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_adapters.settings import Settings
from restosync_core.model.ids import VendorId
from restosync_core.ports.rate_limit import RateCharge

TOKEN = "a-very-secret-agent-token-" + "x" * 20
V1, V2 = VendorId("v1"), VendorId("v2")


class Parts:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.limiter = RedisRateLimiter(client, prefix)
        self.tokens = RedisAgentTokenCache(client, prefix, "agent-secret")
        self.generations = RedisMappingInvalidation(client, prefix)
        self.admission = RedisAdmission(client, prefix, self.limiter, self.tokens)


def run(url: str, prefix: str, scenario: Callable[[Parts], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client = aioredis.Redis.from_url(url)
        try:
            return await scenario(Parts(client, prefix))
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_what_is_read_ahead_is_used_once_then_redis_is_asked_again(settings: Settings) -> None:
    async def scenario(parts: Parts) -> None:
        await parts.tokens.remember(V1, TOKEN, await parts.tokens.stamp(V1))
        first = await parts.generations.generation_of(V1)

        assert (await parts.admission.admit([RateCharge("sync", "t1", limit=5)], "v1")).allowed
        await parts.tokens.forget(V1)  # both change in Redis after the request read them
        await parts.generations.invalidate([V1])

        assert await parts.tokens.recognises(V1, TOKEN)  # what the request read when it arrived
        assert await parts.generations.generation_of(V1) == first
        assert not await parts.tokens.recognises(V1, TOKEN)  # used once: the next read asks Redis
        assert await parts.generations.generation_of(V1) != first

    run(settings.redis_url, settings.redis_prefix, scenario)


def test_a_read_ahead_serves_only_the_vendor_it_was_read_for(settings: Settings) -> None:
    async def scenario(parts: Parts) -> None:
        await parts.tokens.remember(V2, TOKEN, await parts.tokens.stamp(V2))
        assert (await parts.admission.admit([], "v1")).allowed  # read ahead for v1: no token cached
        assert await parts.tokens.recognises(V2, TOKEN)  # v2 is asked of Redis

    run(settings.redis_url, settings.redis_prefix, scenario)


def test_a_vendor_without_a_mapping_generation_gets_one_on_its_lookup_not_on_arrival(settings: Settings) -> None:
    """The request is not authenticated when it arrives: reading ahead creates no key for any vendor id sent."""

    async def scenario(parts: Parts) -> None:
        client = parts.client
        key = generation_key(settings.redis_prefix, "v1")
        assert (await parts.admission.admit([], "v1")).allowed
        assert await client.exists(key) == 0
        generation = await parts.generations.generation_of(V1)
        raw = await client.get(key)
        assert isinstance(raw, bytes) and raw.decode() == generation

    run(settings.redis_url, settings.redis_prefix, scenario)


def test_a_refused_request_reads_nothing_ahead_and_is_counted_nowhere(settings: Settings) -> None:
    async def scenario(parts: Parts) -> None:
        await parts.tokens.remember(V1, TOKEN, await parts.tokens.stamp(V1))
        tight = RateCharge("sync", "t1", limit=1)
        assert (await parts.admission.admit([tight], "v1")).allowed
        refused = await parts.admission.admit([tight], "v1")
        assert not refused.allowed and refused.exceeded == tight and refused.retry_after_seconds >= 1
        await parts.tokens.forget(V1)
        assert not await parts.tokens.recognises(V1, TOKEN)  # nothing read ahead by the refused request

    run(settings.redis_url, settings.redis_prefix, scenario)


def test_with_redis_unreachable_the_request_is_admitted_and_nothing_is_read_ahead(settings: Settings) -> None:
    async def scenario(parts: Parts) -> None:
        assert (await parts.admission.admit([RateCharge("sync", "t1", limit=1)], "v1")).allowed
        assert not await parts.tokens.recognises(V1, TOKEN)  # asks the (unreachable) Redis: bcrypt follows

    run("redis://127.0.0.1:1/0", settings.redis_prefix, scenario)
