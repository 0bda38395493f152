"""RedisMappingInvalidation: each vendor's mapping generation, one Redis string per vendor.

A generation is a random token, not a counter: a counter that Redis forgets
(restart without persistence) and counts up again could repeat a value some
process still has entries tagged with; a fresh random token never does. A
missing key is created with a fresh token (SET NX) rather than read as "none",
since "none" would be the same tag before and after a lost key.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from restosync_adapters.redis import read_ahead
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId


def generation_key(prefix: str, vendor_id: str) -> str:
    return f"{prefix}:mappings:generation:{vendor_id}"


class RedisMappingInvalidation:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def generation_of(self, vendor_id: VendorId) -> str:
        ahead = read_ahead.take_mapping_generation(vendor_id)
        if ahead is not None:  # this request read it when it arrived (restosync_adapters.redis.read_ahead)
            return ahead
        key = generation_key(self._prefix, vendor_id)
        try:
            raw = await self._redis.get(key)
            if raw is None:  # first use, or lost: start a new generation unless someone just did
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(key, secrets.token_hex(16), nx=True)
                    pipe.get(key)
                    _, raw = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("Redis is unavailable (mapping generations)") from exc
        return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)

    async def invalidate(self, vendor_ids: Collection[VendorId]) -> None:
        if not vendor_ids:
            return
        token = secrets.token_hex(16)
        try:
            await self._redis.mset({generation_key(self._prefix, v): token for v in vendor_ids})
        except (RedisError, OSError) as exc:
            raise DependencyUnavailable("Redis is unavailable (mapping generations)") from exc
