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

from restosync_core.ports.rate_limit import RateCharge, RateDecision, Throttled

log = logging.getLogger(__name__)

CHARGE_LUA = """
local function charge(n, member)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for i = 1, n do
    local limit = tonumber(ARGV[3 * i - 1])
    local window = tonumber(ARGV[3 * i])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    local count = redis.call('ZCARD', KEYS[i])
    if count >= limit then
      local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
      return i, tonumber(oldest[2]) + window - now
    end
  end
  for i = 1, n do
    if ARGV[3 * i + 1] == '1' then
      redis.call('ZADD', KEYS[i], now, member)
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 * i]))
    end
  end
  return 0, 0
end
"""
"""The sliding-window charge, as a Lua function other scripts include (``restosync_adapters.redis.admission``).

``charge(n, member)``: KEYS[1..n] are the charges' sorted sets, ARGV[1] the
request's member id, ARGV[3i-1], ARGV[3i] and ARGV[3i+1] limit, window (ms) and
whether the request is added (1; 0 for a gate, ``RateCharge.counted``) of charge i.
Answers (0, 0) when admitted and counted, else (i, ms until charge i has room).
"""

_HIT = CHARGE_LUA + """
local i, wait = charge(#KEYS, ARGV[1])
return {i, wait}
"""


class RedisRateLimiter:
    """Fails open: if Redis cannot be reached the request is admitted (and a warning logged)."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    def key_of(self, charge: RateCharge) -> str:
        return f"{self._prefix}:rate:{charge.name}:{charge.key}"

    def script_input(self, charges: Sequence[RateCharge]) -> tuple[list[str], list[str | int]]:
        """KEYS and ARGV of ``CHARGE_LUA``'s ``charge(#charges, ARGV[1])``."""
        args: list[str | int] = [uuid.uuid4().hex]
        for charge in charges:
            args.extend([charge.limit, charge.window_seconds * 1000, 1 if charge.counted else 0])
        return [self.key_of(c) for c in charges], args

    async def hit(self, charges: Sequence[RateCharge]) -> RateDecision:
        if not charges:
            return RateDecision(allowed=True)
        keys, args = self.script_input(charges)
        try:
            index, wait_ms = await self._hit(keys=keys, args=args)
        except RedisError:
            log.warning("rate limiter unreachable; admitting the request", exc_info=True)
            return RateDecision(allowed=True)
        return decision(charges, index, wait_ms)


def decision(charges: Sequence[RateCharge], index: int, wait_ms: int) -> RateDecision:
    """The decision ``charge`` answered: (0, 0) admitted, else (i, ms until charge i has room)."""
    if int(index) == 0:
        return RateDecision(allowed=True)
    return RateDecision(
        allowed=False,
        exceeded=charges[int(index) - 1],
        retry_after_seconds=max(1, math.ceil(int(wait_ms) / 1000)),
    )


_RECORD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]))
end
return 0
"""

AUTH_FAILURES_IP = "auth-failures-ip"
AUTH_FAILURES_VENDOR = "auth-failures-vendor"


class RedisAuthThrottle:
    """``AuthThrottle`` on the limiter's sorted sets: a failure is an entry, the check a gate charge.

    The per-IP gate is charged with every request by the rate-limit middleware (``ip_gate``), in the
    request's one admission round trip; the per-vendor one only when a vendor's token is not in the
    token cache (``vendor_throttled``). Fails open, as the limiter does.
    """

    def __init__(self, redis: aioredis.Redis, limiter: RedisRateLimiter, *, per_ip: int, per_vendor: int,
                 window_seconds: int) -> None:
        self._limiter = limiter
        self._record = redis.register_script(_RECORD)
        self.per_ip, self.per_vendor, self.window_seconds = per_ip, per_vendor, window_seconds

    def ip_gate(self, client: str) -> RateCharge:
        return RateCharge(AUTH_FAILURES_IP, f"ip:{client}", self.per_ip, self.window_seconds, counted=False)

    def _vendor_gate(self, vendor_id: str) -> RateCharge:
        return RateCharge(AUTH_FAILURES_VENDOR, f"vendor:{vendor_id}", self.per_vendor, self.window_seconds,
                          counted=False)

    async def vendor_throttled(self, vendor_id: str) -> Throttled | None:
        decided = await self._limiter.hit([self._vendor_gate(vendor_id)])
        if decided.allowed:
            return None
        return Throttled(self.per_vendor, self.window_seconds, decided.retry_after_seconds)

    async def failed(self, client: str, vendor_id: str | None) -> None:
        gates = [self.ip_gate(client), *([self._vendor_gate(vendor_id)] if vendor_id else [])]
        try:
            await self._record(keys=[self._limiter.key_of(g) for g in gates],
                               args=[uuid.uuid4().hex, self.window_seconds * 1000])
        except RedisError:
            log.warning("could not count a failed authentication (Redis unreachable)", exc_info=True)
