"""PostgreSQL advisory locks: one holder at a time across every process (cron tasks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool


@asynccontextmanager
async def try_advisory_lock(pool: AsyncConnectionPool, key: int) -> AsyncIterator[bool]:
    """Yield True while holding the session lock ``key``, False (at once) if someone else holds it.

    The lock lives on one pooled connection for the block; a process that dies
    loses its connection and so its lock.
    """
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS acquired", (key,))
        row = await cur.fetchone()
        acquired = bool(row and row["acquired"])
        try:
            yield acquired
        finally:
            if acquired:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
