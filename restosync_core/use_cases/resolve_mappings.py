"""Resolve ERP codes to RestoMarket codes: a per-process cache kept honest by a shared generation.

One ``resolve_many`` call costs one read of the vendor's generation (one Redis
round trip) plus, only when some key is not cached under that generation, ONE
database query for all of those keys. Answers, 'not found' included, are cached
for the TTL under the generation read *before* the query, so a write that
commits and then changes the generation is seen by every process on its next
call.

When the generation cannot be read (Redis down) the resolver neither trusts
nor fills its cache: it drops it and answers from the database alone, and
tries the shared store again after ``redis_retry_seconds``. The database is
the source of truth, so answers stay exact; only the saving is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.policies.ttl_lru_cache import TtlLruCache
from restosync_core.ports.clock import Clock
from restosync_core.ports.mappings import CodeKey, MappingInvalidation, MappingLookup

log = logging.getLogger(__name__)

CACHE_TTL_SECONDS = 300.0
CACHE_MAX_ENTRIES = 10_000
REDIS_RETRY_SECONDS = 1.0

CacheKey = tuple[VendorId, MappingType, str]
"""(vendor, type, ERP code): the spec's ``vendorId:type:erpCode``, as a tuple."""


class _Bypass:
    """The tag used when the generation is unknown: nothing is read from or written to the cache."""


_BYPASS = _Bypass()


class CachedMappingResolver:
    """The ``MappingResolver`` of one process (API or worker): build one per process, share it."""

    def __init__(
        self,
        *,
        lookup: MappingLookup,
        invalidation: MappingInvalidation,
        clock: Clock,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        max_entries: int = CACHE_MAX_ENTRIES,
        redis_retry_seconds: float = REDIS_RETRY_SECONDS,
    ) -> None:
        self._lookup = lookup
        self._invalidation = invalidation
        self._clock = clock
        self._redis_retry_seconds = redis_retry_seconds
        self._bypass_until = float("-inf")
        self.cache: TtlLruCache[CacheKey, MappingResult | None] = TtlLruCache(
            max_entries=max_entries, ttl_seconds=ttl_seconds
        )

    async def resolve(self, vendor_id: VendorId, mapping_type: MappingType, erp_code: str) -> MappingResult | None:
        key = (mapping_type, erp_code)
        return (await self.resolve_many(vendor_id, (key,)))[key]

    async def resolve_many(self, vendor_id: VendorId, keys: Iterable[CodeKey]) -> dict[CodeKey, MappingResult | None]:
        distinct = dict.fromkeys(keys)  # ordered, so queries and LRU order are deterministic
        if not distinct:
            return {}
        now = self._clock.now().timestamp()
        tag = await self._generation(vendor_id, now)
        answers: dict[CodeKey, MappingResult | None] = {}
        misses: list[CodeKey] = []
        if tag is _BYPASS:
            misses = list(distinct)
        else:
            cache = self.cache
            for key in distinct:
                entry = cache.get((vendor_id, key[0], key[1]), now=now, tag=tag)
                if entry is None:
                    misses.append(key)
                else:
                    answers[key] = entry.value
        if misses:
            found = await self._lookup.find_active(vendor_id, misses)
            for key in misses:
                answer = found.get(key)
                answers[key] = answer
                if tag is not _BYPASS:
                    self.cache.put((vendor_id, key[0], key[1]), answer, now=now, tag=tag)
        return answers

    async def _generation(self, vendor_id: VendorId, now: float) -> object:
        if now < self._bypass_until:
            return _BYPASS
        try:
            return await self._invalidation.generation_of(vendor_id)
        except DependencyUnavailable as exc:
            # What changed while we could not look is unknown: forget everything.
            self.cache.clear()
            self._bypass_until = now + self._redis_retry_seconds
            log.warning("mapping cache bypassed: %s; answering from the database", exc.message)
            return _BYPASS
