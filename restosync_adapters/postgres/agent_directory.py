"""PgAgentDirectory: where each vendor's agent listens and what our calls carry, from ``agent_registry``."""

from __future__ import annotations

import time

from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import fetch_one
from restosync_core.model.agents import AgentEndpoint, OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.policies.ttl_lru_cache import TtlLruCache

SELECT_ENDPOINT = "SELECT agent_url, outbound_token, signing_secret FROM agent_registry WHERE vendor_id = %s"
MAX_VENDORS_REMEMBERED = 10_000


class PgAgentDirectory:
    """Where each vendor's agent listens, read from ``agent_registry`` and remembered a few seconds.

    A worker delivering a burst of one vendor's orders asks once, not once per order;
    a changed agent URL (or a rotated outbound credential) is used within ``ttl_seconds``. A vendor without an agent is
    not remembered (a delivery that finds none dead-letters its job).
    """

    def __init__(self, pool: AsyncConnectionPool, *, ttl_seconds: float = 5.0) -> None:
        self.pool = pool
        self._known: TtlLruCache[str, AgentEndpoint] = TtlLruCache(
            max_entries=MAX_VENDORS_REMEMBERED, ttl_seconds=ttl_seconds
        )

    async def endpoint(self, vendor_id: VendorId) -> AgentEndpoint | None:
        now = time.monotonic()
        hit = self._known.get(vendor_id, now=now, tag=None)
        if hit is not None:
            return hit.value
        with map_db_errors():
            async with self.pool.connection() as conn:
                row = await fetch_one(conn, tuple_row, SELECT_ENDPOINT, (vendor_id,))
        if row is None:
            return None  # not remembered: "no agent" dead-letters a job, so it is always asked afresh
        endpoint = AgentEndpoint(str(row[0]), OutboundCredential(str(row[1]), str(row[2])))
        self._known.put(vendor_id, endpoint, now=now, tag=None)
        return endpoint
