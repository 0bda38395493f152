"""A separate OS process with its own resolver and cache, like a long-lived (non-forking) RQ worker.

Run as ``python -m tests.integration.mappings.resolver_process`` with the
restosync environment set. Each stdin line ``{"vendorId", "mappingType", "erpCode"}``
is resolved and answered on stdout as ``{"restoCode", "restoLabel", "queries"}``
(``restoCode`` null when unmapped; ``queries`` counts database queries so far).
The process ends when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.postgres.mappings import PgMappingLookup
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.ports.mappings import CodeKey
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver


class CountingLookup:
    def __init__(self, inner: PgMappingLookup) -> None:
        self.inner = inner
        self.queries = 0

    async def find_active(self, vendor_id: VendorId, keys: Sequence[CodeKey]) -> dict[CodeKey, MappingResult]:
        self.queries += 1
        return await self.inner.find_active(vendor_id, keys)


async def main() -> None:
    services = bootstrap()
    assert services.pool is not None
    lookup = CountingLookup(PgMappingLookup(services.pool))
    resolver = CachedMappingResolver(lookup=lookup, invalidation=services.mapping_invalidation, clock=services.clock)
    await services.start()
    loop = asyncio.get_running_loop()
    try:
        print(json.dumps({"ready": True}), flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            ask = json.loads(line)
            found = await resolver.resolve(VendorId(ask["vendorId"]), MappingType(ask["mappingType"]), ask["erpCode"])
            answer = {
                "restoCode": found.resto_code if found else None,
                "restoLabel": found.resto_label if found else None,
                "queries": lookup.queries,
            }
            print(json.dumps(answer), flush=True)
    finally:
        await services.stop()


if __name__ == "__main__":
    asyncio.run(main())
