"""Redis clients with timeouts that fail fast and reconnect by themselves after an outage."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis


def make_async_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=15,
        retry_on_timeout=True,
    )


def make_sync_redis(url: str) -> redis.Redis:
    """For RQ (which wants raw bytes, so no decoding)."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=2, health_check_interval=15)
