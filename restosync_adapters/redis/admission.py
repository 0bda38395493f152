"""RedisAdmission: an agent request's rate-limit charge and its read-ahead, in one Lua script.

See ``restosync_adapters.redis.read_ahead`` for what is read ahead and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from restosync_adapters.redis import read_ahead
from restosync_adapters.redis.mapping_invalidation import generation_key
from restosync_adapters.redis.rate_limiter import CHARGE_LUA, RedisRateLimiter, decision
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_core.model.ids import VendorId, is_valid_vendor_id
from restosync_core.ports.rate_limit import RateCharge, RateDecision

log = logging.getLogger(__name__)

# KEYS: the n charges' sorted sets, then the vendor's token digest, revocation counter and mapping generation.
# ARGV: the charges' member id and limits (CHARGE_LUA). Reads only: the request is not authenticated yet.
_ADMIT = CHARGE_LUA + """
local n = #KEYS - 3
local i, wait = charge(n, ARGV[1])
if i ~= 0 then return {i, wait} end
return {0, 0, redis.call('GET', KEYS[n + 1]) or '', redis.call('GET', KEYS[n + 2]) or '0',
        redis.call('GET', KEYS[n + 3]) or ''}
"""


class RedisAdmission:
    """``admit(charges, vendor_id)``: charge the rate limits and read ahead for the vendor, in one script."""

    def __init__(
        self, redis: aioredis.Redis, prefix: str, limiter: RedisRateLimiter, tokens: RedisAgentTokenCache
    ) -> None:
        self._prefix = prefix
        self._limiter = limiter
        self._tokens = tokens
        self._admit = redis.register_script(_ADMIT)

    async def admit(self, charges: Sequence[RateCharge], vendor_id: str | None) -> RateDecision:
        """Charge ``charges``; if admitted and ``vendor_id`` is given, read ahead for it (this request only).

        Call it once per request, from the request's own task: the answers are
        kept in a context variable, which the request's later steps inherit.
        """
        read_ahead.start(None)
        if not vendor_id or not is_valid_vendor_id(vendor_id):  # the guard refuses it anyway
            return await self._limiter.hit(charges)
        keys, args = self._limiter.script_input(charges)
        keys += [*self._tokens.keys_of(VendorId(vendor_id)), generation_key(self._prefix, vendor_id)]
        try:
            answer = await self._admit(keys=keys, args=args)
        except RedisError:
            log.warning("Redis unreachable on an agent request: admitting it, nothing read ahead", exc_info=True)
            return RateDecision(allowed=True)
        if len(answer) == 2:
            return decision(charges, answer[0], answer[1])
        digest, stamp, generation = (_text(value) for value in answer[2:])
        read_ahead.start(read_ahead.ReadAhead(vendor_id, digest, stamp, generation))
        return RateDecision(allowed=True)


def _text(value: bytes | str) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)
