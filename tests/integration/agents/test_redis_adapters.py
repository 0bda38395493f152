"""The Redis adapters of this area against the real Redis: the rate limiter and the token cache."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis

from restosync_adapters.redis.rate_limiter import RedisRateLimiter
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_adapters.settings import Settings
from restosync_core.model.ids import VendorId
from restosync_core.ports.rate_limit import RateCharge
from tests.waiting import wait_until_async

TOKEN = "a-very-secret-agent-token-" + "x" * 20


def _with_redis(settings: Settings, scenario):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        client = aioredis.Redis.from_url(settings.redis_url)
        try:
            return await scenario(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_a_refused_request_is_counted_in_no_limit(settings: Settings) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        limiter = RedisRateLimiter(client, settings.redis_prefix)
        wide = RateCharge("wide", "k", limit=10)
        narrow = RateCharge("narrow", "k", limit=2)
        decisions = [await limiter.hit([wide, narrow]) for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, False, False]
        refused = decisions[-1]
        assert refused.exceeded == narrow and 1 <= refused.retry_after_seconds <= 60
        assert await client.zcard(limiter.key_of(wide)) == 2  # only the admitted ones
        assert (await limiter.hit([wide])).allowed

    _with_redis(settings, scenario)


def test_limits_with_other_names_or_keys_do_not_share_a_count(settings: Settings) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        limiter = RedisRateLimiter(client, settings.redis_prefix)
        assert (await limiter.hit([RateCharge("a", "k", limit=1)])).allowed
        assert not (await limiter.hit([RateCharge("a", "k", limit=1)])).allowed
        assert (await limiter.hit([RateCharge("b", "k", limit=1)])).allowed
        assert (await limiter.hit([RateCharge("a", "other", limit=1)])).allowed

    _with_redis(settings, scenario)


def test_a_full_limit_admits_again_once_its_oldest_request_leaves_the_window(settings: Settings) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        limiter = RedisRateLimiter(client, settings.redis_prefix)
        charge = RateCharge("short", "k", limit=2, window_seconds=1)
        assert (await limiter.hit([charge])).allowed and (await limiter.hit([charge])).allowed
        assert not (await limiter.hit([charge])).allowed
        async def admitted() -> bool:
            return (await limiter.hit([charge])).allowed

        await wait_until_async(admitted, 5, "the window to slide past the oldest request")
        assert 0 < await client.pttl(limiter.key_of(charge)) <= 1000

    _with_redis(settings, scenario)


def test_the_token_cache_stores_a_keyed_digest_with_a_ttl_never_the_token(settings: Settings) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        cache = RedisAgentTokenCache(client, settings.redis_prefix, settings.agent_secret, ttl_seconds=123)
        vendor = VendorId("v1")
        assert not await cache.recognises(vendor, TOKEN)
        await cache.remember(vendor, TOKEN, await cache.stamp(vendor))
        assert await cache.recognises(vendor, TOKEN)
        assert not await cache.recognises(vendor, TOKEN + "x")
        assert not await cache.recognises(VendorId("v2"), TOKEN)
        other_secret = RedisAgentTokenCache(client, settings.redis_prefix, "another-agent-secret-000")
        assert not await other_secret.recognises(vendor, TOKEN)

    _with_redis(settings, scenario)
    sync = redis.Redis.from_url(settings.redis_url)
    keys = list(sync.scan_iter(match=f"{settings.redis_prefix}:agent-token*"))
    values = [sync.get(k) or b"" for k in keys]
    ttl = sync.ttl(f"{settings.redis_prefix}:agent-token:v1")
    sync.close()
    assert keys and all(TOKEN.encode() not in v for v in values)
    assert 0 < ttl <= 123


def test_a_token_verified_before_a_revocation_is_not_cached_after_it(settings: Settings) -> None:
    async def scenario(client: aioredis.Redis) -> None:
        cache = RedisAgentTokenCache(client, settings.redis_prefix, settings.agent_secret)
        vendor = VendorId("v1")
        stamp = await cache.stamp(vendor)
        await cache.forget(vendor)
        await cache.remember(vendor, TOKEN, stamp)
        assert not await cache.recognises(vendor, TOKEN)
        await cache.remember(vendor, TOKEN, await cache.stamp(vendor))
        assert await cache.recognises(vendor, TOKEN)
        await cache.forget(vendor)
        assert not await cache.recognises(vendor, TOKEN)

    _with_redis(settings, scenario)
