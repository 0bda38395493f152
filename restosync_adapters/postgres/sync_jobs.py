"""Sync jobs in PostgreSQL: the repository of a unit of work, and the worker's single-statement claims.

A claim is one conditional ``UPDATE ... RETURNING``: whoever's statement
matches the row owns the delivery, so a duplicate RQ job does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import columns, fetch_all, fetch_one, fetch_page, model_and, model_row, render
from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.ids import OrderId, SyncJobId
from restosync_core.model.orders import SyncJob, SyncJobStatus
from restosync_core.model.pagination import Page, PageRequest

JOB_ROW = model_row(SyncJob, status=SyncJobStatus)
JOB_AND_TOTAL_ROW = model_and(SyncJob, "total", status=SyncJobStatus)
_JOB = columns(SyncJob)

INSERT_JOB = """
INSERT INTO sync_jobs (id, order_id, vendor_id, job_type, status, payload, attempts, max_attempts,
                       next_attempt_at, correlation_id, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
SELECT_JOB = render(sql.SQL("SELECT {} FROM sync_jobs WHERE id = %s").format(_JOB))
SELECT_JOB_FOR_UPDATE = SELECT_JOB + " FOR UPDATE"
SAVE_JOB = """
UPDATE sync_jobs SET status = %s, attempts = %s, next_attempt_at = %s, claimed_by = %s,
       claimed_until = %s, erp_reference = %s, last_error = %s, sent_at = %s, completed_at = %s, updated_at = %s
WHERE id = %s
"""
SAVE_CLAIMED_JOB = """
UPDATE sync_jobs SET status = %s, attempts = %s, next_attempt_at = %s, claimed_by = %s,
       claimed_until = %s, erp_reference = %s, last_error = %s, sent_at = %s, completed_at = %s, updated_at = %s
WHERE id = %s AND status = 'processing' AND claimed_by = %s AND attempts = %s
"""
# One statement decides who gets the job: due, unfinished, and (if processing) its claim has expired.
CLAIM_JOB = render(sql.SQL("""
UPDATE sync_jobs
SET status = 'processing', claimed_by = %(worker)s, claimed_until = %(until)s, next_attempt_at = %(until)s,
    attempts = attempts + 1, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'processing', 'sent') AND next_attempt_at <= %(now)s
RETURNING {}
""").format(_JOB))
SELECT_JOB_ID_FOR_ORDER = "SELECT id FROM sync_jobs WHERE order_id = %s ORDER BY created_at, id LIMIT 1"
SELECT_DUE = """
SELECT id, next_attempt_at FROM sync_jobs
WHERE status IN ('pending', 'processing', 'sent') AND next_attempt_at <= %s
ORDER BY next_attempt_at
LIMIT %s
"""
_LIST_WHERE = """
WHERE (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
  AND (%(status)s::sync_job_status IS NULL OR status = %(status)s::sync_job_status)
"""
LIST_JOBS = render(sql.SQL("""
SELECT {}, count(*) OVER () AS total FROM sync_jobs {}
ORDER BY created_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s
""").format(_JOB, sql.SQL(_LIST_WHERE)))
COUNT_JOBS = "SELECT count(*) FROM sync_jobs" + _LIST_WHERE
# Unfinished jobs placed, or last retried from a dead letter, before %(before)s; a processing job only once
# its claim expired (a worker holding it is still at work). SKIP LOCKED: a job a worker or callback holds
# right now is left for the next run rather than waited for.
SELECT_OVERDUE_UNFINISHED = render(sql.SQL("""
SELECT {} FROM sync_jobs j
WHERE (j.status IN ('pending', 'sent') OR (j.status = 'processing' AND j.claimed_until < %(now)s))
  AND j.created_at < %(before)s
  AND coalesce((SELECT max(d.last_retried_at) FROM dead_letter_queue d WHERE d.sync_job_id = j.id),
               j.created_at) < %(before)s
ORDER BY j.created_at
LIMIT %(limit)s
FOR UPDATE OF j SKIP LOCKED
""").format(columns(SyncJob, table="j")))


class PgSyncJobRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def add(self, job: SyncJob) -> None:
        await self.conn.execute(
            INSERT_JOB,
            (
                job.id, job.order_id, job.vendor_id, job.job_type, job.status.value, Jsonb(job.payload),
                job.attempts, job.max_attempts, job.next_attempt_at, job.correlation_id,
                job.created_at, job.updated_at,
            ),
        )

    async def get(self, job_id: SyncJobId, *, for_update: bool = False) -> SyncJob | None:
        return await fetch_one(self.conn, JOB_ROW, SELECT_JOB_FOR_UPDATE if for_update else SELECT_JOB, (job_id,))

    async def save(self, job: SyncJob) -> None:
        await self.conn.execute(
            SAVE_JOB,
            (
                job.status.value, job.attempts, job.next_attempt_at, job.claimed_by,
                job.claimed_until, job.erp_reference, job.last_error, job.sent_at, job.completed_at,
                job.updated_at, job.id,
            ),
        )

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        cur = await self.conn.execute(
            SAVE_CLAIMED_JOB,
            (
                job.status.value, job.attempts, job.next_attempt_at, job.claimed_by,
                job.claimed_until, job.erp_reference, job.last_error, job.sent_at, job.completed_at,
                job.updated_at, job.id, worker, attempts,
            ),
        )
        return cur.rowcount == 1

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        params = {"id": job_id, "worker": worker, "now": now, "until": until}
        return await fetch_one(self.conn, JOB_ROW, CLAIM_JOB, params)

    async def due(self, before: datetime, limit: int) -> list[tuple[SyncJobId, datetime]]:
        return await fetch_all(self.conn, tuple_row, SELECT_DUE, (before, limit))

    async def list(self, filter_: SyncJobFilter, page: PageRequest) -> Page[SyncJob]:
        params = {
            "vendor": filter_.vendor_id,
            "status": filter_.status.value if filter_.status else None,
            "limit": page.limit,
            "offset": page.offset,
        }
        return await fetch_page(self.conn, JOB_AND_TOTAL_ROW, LIST_JOBS, COUNT_JOBS, params, page)

    async def id_for_order(self, order_id: OrderId) -> SyncJobId | None:
        row = await fetch_one(self.conn, tuple_row, SELECT_JOB_ID_FOR_ORDER, (order_id,))
        return SyncJobId(row[0]) if row else None

    async def overdue_unfinished(self, before: datetime, now: datetime, limit: int) -> Sequence[SyncJob]:
        params = {"before": before, "now": now, "limit": limit}
        return await fetch_all(self.conn, JOB_ROW, SELECT_OVERDUE_UNFINISHED, params)


class PgSyncJobClaims:
    """Claim and outcome writes as single autocommit statements: one pooled round trip each."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await PgSyncJobRepository(conn).claim(job_id, worker, now, until)

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await PgSyncJobRepository(conn).save_claimed(job, worker, attempts)
