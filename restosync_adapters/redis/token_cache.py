"""RedisAgentTokenCache: agent tokens verified by bcrypt, recognised for a while by a keyed digest.

Keys (all under the Redis prefix):

- ``<prefix>:agent-token:<vendor>`` -> HMAC-SHA256 digest of the verified token, with a TTL.
  The token itself is never stored; the HMAC key is derived from AGENT_SECRET, so
  a dump of Redis does not even allow guessing tokens offline.
- ``<prefix>:agent-token-gen:<vendor>`` -> a revocation counter (no TTL), bumped by ``forget``.

A verification reads the counter (``stamp``) *before* reading the stored bcrypt
hash and caches its result only if the counter is still the same (one Lua
script), so a deregistration or token change that commits meanwhile cannot be
undone by a slow verification. Every API process reads the same keys, so a
revocation holds everywhere at once. The hot path is one ``GET``, or none when the
request read the digest ahead (``restosync_adapters.redis.read_ahead``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from restosync_adapters.redis import read_ahead
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 300

_REMEMBER = """
local gen = redis.call('GET', KEYS[2]) or '0'
if gen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""

_FORGET = """
redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
return 1
"""


class RedisAgentTokenCache:
    def __init__(
        self, redis: aioredis.Redis, prefix: str, secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._key = hashlib.sha256(b"restosync agent token cache v1\x00" + secret.encode("utf-8")).digest()
        self._remember = redis.register_script(_REMEMBER)
        self._forget = redis.register_script(_FORGET)

    def keys_of(self, vendor_id: str) -> list[str]:
        """The vendor's digest key and revocation counter key."""
        return [f"{self._prefix}:agent-token:{vendor_id}", f"{self._prefix}:agent-token-gen:{vendor_id}"]

    def digest(self, vendor_id: str, token: str) -> str:
        message = vendor_id.encode("utf-8") + b"\x00" + token.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    async def recognises(self, vendor_id: VendorId, token: str) -> bool:
        cached: bytes | str | None = read_ahead.take_token_digest(vendor_id)
        if cached is None:
            try:
                cached = await self._redis.get(self.keys_of(vendor_id)[0])
            except RedisError:
                log.warning("token cache unreachable; verifying with bcrypt", exc_info=True)
                return False
        if cached == "":  # read ahead: none cached
            return False
        if cached is None:
            return False
        value = cached.decode("ascii") if isinstance(cached, bytes) else str(cached)
        return hmac.compare_digest(value, self.digest(vendor_id, token))

    async def stamp(self, vendor_id: VendorId) -> str:
        ahead = read_ahead.take_token_stamp(vendor_id)
        if ahead is not None:
            return ahead
        try:
            gen = await self._redis.get(self.keys_of(vendor_id)[1])
        except RedisError:
            return "unavailable"  # remember() will not cache against it
        if gen is None:
            return "0"
        return gen.decode("ascii") if isinstance(gen, bytes) else str(gen)

    async def remember(self, vendor_id: VendorId, token: str, stamp: str) -> None:
        if stamp == "unavailable":
            return
        try:
            await self._remember(keys=self.keys_of(vendor_id), args=[stamp, self.digest(vendor_id, token), self._ttl])
        except RedisError:
            log.warning("could not cache a verified agent token", exc_info=True)

    async def forget(self, vendor_id: VendorId) -> None:
        try:
            await self._forget(keys=self.keys_of(vendor_id))
        except RedisError as exc:
            raise DependencyUnavailable("Redis is unavailable: cannot revoke the agent's cached token") from exc
