"""Sync jobs in PostgreSQL: the repository of a unit of work, and the worker's single-statement claims.

A claim is one conditional ``UPDATE ... RETURNING``: whoever's statement
matches the row owns the delivery, so a duplicate RQ job does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.ids import OrderId, SyncJobId, VendorId
from restosync_core.model.orders import SyncJob, SyncJobStatus
from restosync_core.model.pagination import Page, PageRequest

Row = dict[str, Any]

INSERT_JOB = """
INSERT INTO sync_jobs (id, order_id, vendor_id, job_type, status, payload, attempts, max_attempts,
                       next_attempt_at, correlation_id, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
SELECT_JOB = "SELECT * FROM sync_jobs WHERE id = %s"
SELECT_JOB_FOR_UPDATE = "SELECT * FROM sync_jobs WHERE id = %s FOR UPDATE"
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
CLAIM_JOB = """
UPDATE sync_jobs
SET status = 'processing', claimed_by = %(worker)s, claimed_until = %(until)s, next_attempt_at = %(until)s,
    attempts = attempts + 1, updated_at = %(now)s
WHERE id = %(id)s AND status IN ('pending', 'processing', 'sent') AND next_attempt_at <= %(now)s
RETURNING *
"""
SELECT_JOB_ID_FOR_ORDER = "SELECT id FROM sync_jobs WHERE order_id = %s ORDER BY created_at, id LIMIT 1"
SELECT_DUE = """
SELECT id, next_attempt_at FROM sync_jobs
WHERE status IN ('pending', 'processing', 'sent') AND next_attempt_at <= %s
ORDER BY next_attempt_at
LIMIT %s
"""
LIST_JOBS = """
SELECT *, count(*) OVER () AS total FROM sync_jobs
WHERE (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
  AND (%(status)s::sync_job_status IS NULL OR status = %(status)s::sync_job_status)
ORDER BY created_at DESC, id
LIMIT %(limit)s OFFSET %(offset)s
"""
COUNT_JOBS = """
SELECT count(*) AS total FROM sync_jobs
WHERE (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
  AND (%(status)s::sync_job_status IS NULL OR status = %(status)s::sync_job_status)
"""


def job_from_row(row: Row) -> SyncJob:
    return SyncJob(
        id=row["id"],
        order_id=row["order_id"],
        vendor_id=VendorId(row["vendor_id"]),
        job_type=row["job_type"],
        status=SyncJobStatus(row["status"]),
        payload=row["payload"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        next_attempt_at=row["next_attempt_at"],
        claimed_until=row["claimed_until"],
        correlation_id=row["correlation_id"],
        erp_reference=row["erp_reference"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
        completed_at=row["completed_at"],
        claimed_by=row["claimed_by"],
    )


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
        cur = await self.conn.execute(SELECT_JOB_FOR_UPDATE if for_update else SELECT_JOB, (job_id,))
        row = await cur.fetchone()
        return job_from_row(row) if row else None

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
        cur = await self.conn.execute(CLAIM_JOB, {"id": job_id, "worker": worker, "now": now, "until": until})
        row = await cur.fetchone()
        return job_from_row(row) if row else None

    async def due(self, before: datetime, limit: int) -> list[tuple[SyncJobId, datetime]]:
        cur = await self.conn.execute(SELECT_DUE, (before, limit))
        return [(r["id"], r["next_attempt_at"]) for r in await cur.fetchall()]

    async def list(self, filter_: SyncJobFilter, page: PageRequest) -> Page[SyncJob]:
        params = {
            "vendor": filter_.vendor_id,
            "status": filter_.status.value if filter_.status else None,
            "limit": page.limit,
            "offset": page.offset,
        }
        cur = await self.conn.execute(LIST_JOBS, params)
        rows = await cur.fetchall()
        if rows:
            total = rows[0]["total"]
        else:
            cur = await self.conn.execute(COUNT_JOBS, params)
            total = (await cur.fetchone() or {"total": 0})["total"]
        return Page(items=[job_from_row(r) for r in rows], page=page.page, limit=page.limit, total=total)

    async def id_for_order(self, order_id: OrderId) -> SyncJobId | None:
        cur = await self.conn.execute(SELECT_JOB_ID_FOR_ORDER, (order_id,))
        row = await cur.fetchone()
        return SyncJobId(row["id"]) if row else None


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
