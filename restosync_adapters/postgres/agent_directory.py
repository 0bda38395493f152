"""PgAgentDirectory: where each vendor's agent listens, read from ``agent_registry`` (read-only)."""

from __future__ import annotations

import time

from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_core.model.ids import VendorId

SELECT_AGENT_URL = "SELECT agent_url FROM agent_registry WHERE vendor_id = %s"


class PgAgentDirectory:
    """Where each vendor's agent listens, read from ``agent_registry`` and remembered a few seconds.

    A worker delivering a burst of one vendor's orders asks once, not once per order;
    a changed agent URL is used within ``ttl_seconds``. A vendor without an agent is
    not remembered (a delivery that finds none dead-letters its job).
    """

    def __init__(self, pool: AsyncConnectionPool, *, ttl_seconds: float = 5.0) -> None:
        self.pool = pool
        self.ttl = ttl_seconds
        self._known: dict[str, tuple[float, str | None]] = {}

    async def agent_url(self, vendor_id: VendorId) -> str | None:
        now = time.monotonic()
        hit = self._known.get(vendor_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        with map_db_errors():
            async with self.pool.connection() as conn:
                cur = await conn.execute(SELECT_AGENT_URL, (vendor_id,))
                row = await cur.fetchone()
        if row is None:
            return None  # not remembered: "no agent" dead-letters a job, so it is always asked afresh
        url = str(row["agent_url"])
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[vendor_id] = (now, url)
        return url
