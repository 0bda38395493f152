"""RedisRateLimiter: sliding-window request counts in Redis, shared by every API process.

Each (limit name, key) pair is a sorted set of request timestamps (Redis's own
clock, in ms). One Lua script, so atomic across processes: drop the entries
older than the window, and if every limit still has room, add the request to
all of them; otherwise add it nowhere and answer how long until the oldest
entry of the full limit leaves the window. This is an exact sliding window: at
most ``limit`` requests in any ``window`` (no double burst at a window edge),
at the cost of one small sorted set per active key (at most ``limit`` members,
expiring with the window).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from restosync_core.ports.rate_limit import RateCharge, RateDecision

log = logging.getLogger(__name__)

# KEYS: one sorted set per charge. ARGV[1]: this request's member id; then limit, window_ms per key.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {0, 0}
"""


class RedisRateLimiter:
    """Fails open: if Redis cannot be reached the request is admitted (and a warning logged)."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    def key_of(self, charge: RateCharge) -> str:
        return f"{self._prefix}:rate:{charge.name}:{charge.key}"

    async def hit(self, charges: Sequence[RateCharge]) -> RateDecision:
        if not charges:
            return RateDecision(allowed=True)
        args: list[str | float] = [uuid.uuid4().hex]
        for charge in charges:
            args.extend([charge.limit, charge.window_seconds * 1000])
        try:
            index, wait_ms = await self._hit(keys=[self.key_of(c) for c in charges], args=args)
        except RedisError:
            log.warning("rate limiter unreachable; admitting the request", exc_info=True)
            return RateDecision(allowed=True)
        if int(index) == 0:
            return RateDecision(allowed=True)
        return RateDecision(
            allowed=False,
            exceeded=charges[int(index) - 1],
            retry_after_seconds=max(1, math.ceil(int(wait_ms) / 1000)),
        )
