"""Retention deletes and scheduled-task runs in PostgreSQL: short statements on pooled connections.

Each delete removes at most ``limit`` rows picked with ``FOR UPDATE SKIP LOCKED``
in one statement (its own transaction): no long lock on a busy table, and a row
a worker or request holds right now is left for the next chunk or run.

The reconciliation archive deletes the old events first, then (once a chunk
finds fewer than ``limit`` of them) the finished runs older than the same
cutoff, in the same chunks: their events, written when they finished, are
gone by then, so the cascade has little left to delete.
"""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_core.ports.retention import Expiring


def _chunk(table: str, key: str, where: str) -> str:
    return f"""
DELETE FROM {table} WHERE ({key}) IN (
    SELECT {key} FROM {table} WHERE {where}
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)"""


DELETE_CHUNK: dict[Expiring, str] = {
    Expiring.COMPLETED_SYNC_JOBS: _chunk("sync_jobs", "id", "status = 'completed' AND completed_at < %(before)s"),
    Expiring.FAILED_SYNC_JOBS: _chunk("sync_jobs", "id", "status = 'failed' AND updated_at < %(before)s"),
    Expiring.RESOLVED_DEAD_LETTERS: _chunk("dead_letter_queue", "id", "resolved AND resolved_at < %(before)s"),
    Expiring.RECONCILIATION_EVENTS: _chunk("reconciliation_events", "id", "created_at < %(before)s"),
    Expiring.TASK_RUNS: _chunk("task_runs", "task, tick", "started_at < %(before)s"),
    Expiring.INGEST_COUNTS: _chunk("ingest_counts", "vendor_id, entity, hour, outcome", "hour < %(before)s"),
}
DELETE_RECONCILIATION_RUNS = _chunk(
    "reconciliation_runs", "id", "finished_at < %(before)s AND status NOT IN ('queued', 'running')"
)

CLAIM_RUN = """
INSERT INTO task_runs (task, tick, status, started_at) VALUES (%s, %s, 'running', %s)
ON CONFLICT (task, tick) DO NOTHING
"""
FINISH_RUN = "UPDATE task_runs SET status = %s, detail = %s, finished_at = %s WHERE task = %s AND tick = %s"


class PgRetentionStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def delete_chunk(self, what: Expiring, before: datetime, limit: int) -> int:
        with map_db_errors():
            async with self.pool.connection() as conn:
                cur = await conn.execute(DELETE_CHUNK[what], {"before": before, "limit": limit})
                deleted = cur.rowcount
                if what is Expiring.RECONCILIATION_EVENTS and deleted < limit:
                    # The rest of the chunk goes to finished runs (each its own short statement too).
                    cur = await conn.execute(DELETE_RECONCILIATION_RUNS, {"before": before, "limit": limit - deleted})
                    deleted += cur.rowcount
                return deleted


class PgTaskRuns:
    """``task_runs``: one row per (task, tick); the insert that creates it is the claim."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def claim(self, task: str, tick: datetime, now: datetime) -> bool:
        with map_db_errors():
            async with self.pool.connection() as conn:
                cur = await conn.execute(CLAIM_RUN, (task, tick, now))
                return cur.rowcount == 1

    async def finish(self, task: str, tick: datetime, now: datetime, *, ok: bool, detail: str) -> None:
        with map_db_errors():
            async with self.pool.connection() as conn:
                await conn.execute(FINISH_RUN, ("done" if ok else "failed", detail[:2000], now, task, tick))
