"""PostgreSQL advisory locks: one holder at a time across every process (cron tasks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.rows import fetch_one


@asynccontextmanager
async def try_advisory_lock(pool: AsyncConnectionPool, key: int) -> AsyncIterator[bool]:
    """Yield True while holding the lock ``key``, False (at once) if someone else holds it.

    A transaction-level lock on one pooled connection, held for the block: it ends
    with the transaction however the block ends (error, cancellation, a process that
    dies), so a lock can never stay behind on a connection that goes back to the pool.
    """
    async with pool.connection() as conn, conn.transaction():
        row = await fetch_one(conn, tuple_row, "SELECT pg_try_advisory_xact_lock(%s)", (key,))
        yield bool(row and row[0])
