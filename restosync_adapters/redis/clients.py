"""Redis clients with timeouts that fail fast and reconnect by themselves after an outage.

Plain redis-py clients: a command against a Redis that is down or stalled fails
within the socket timeout (the caller turns that into a 503 or a retry), and
the next command opens a new connection, so nothing needs restarting when Redis
comes back.
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

SOCKET_TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_SECONDS = 15


def make_async_redis(url: str, *, socket_timeout: float = SOCKET_TIMEOUT_SECONDS) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
        retry_on_timeout=True,
    )


def make_sync_redis(url: str) -> redis.Redis:
    """For RQ (which wants raw bytes, so no decoding)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=30,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )
