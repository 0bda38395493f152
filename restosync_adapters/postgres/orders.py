"""PostgreSQL repositories for order delivery: orders, sync jobs, dead letters, agent URLs."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from restosync_core.errors import Conflict, DependencyUnavailable
from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId, VendorId
from restosync_core.model.orders import (
    DeadLetter,
    Order,
    OrderLine,
    OrderStatus,
    SyncJob,
    SyncJobStatus,
)
from restosync_core.model.pagination import Page, PageRequest

Row = dict[str, Any]

# ---------------------------------------------------------------- orders
INSERT_ORDER = """
INSERT INTO orders (id, vendor_id, order_number, status, created_at, updated_at)
VALUES (%s, %s, %s, 'pending', %s, %s)
"""
INSERT_LINES = """
INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price)
SELECT %s, n, sku, quantity, unit_price
FROM unnest(%s::int[], %s::text[], %s::numeric[], %s::numeric[]) AS t(n, sku, quantity, unit_price)
"""
SELECT_ORDER = "SELECT * FROM orders WHERE id = %s"
SELECT_LINES = "SELECT sku, quantity, unit_price FROM order_lines WHERE order_id = %s ORDER BY line_no"
UPDATE_ORDER_STATUS = """
UPDATE orders SET status = %s, erp_reference = coalesce(%s, erp_reference), updated_at = %s WHERE id = %s
"""


class PgOrderRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def add(self, order: Order) -> None:
        try:
            async with self.conn.transaction():  # a savepoint: the caller's transaction survives a conflict
                await self.conn.execute(
                    INSERT_ORDER,
                    (order.id, order.vendor_id, order.order_number, order.created_at, order.updated_at),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(
                f"vendor {order.vendor_id} already has an order numbered {order.order_number}"
            ) from exc
        lines = order.lines
        await self.conn.execute(
            INSERT_LINES,
            (
                order.id,
                list(range(1, len(lines) + 1)),
                [ln.sku for ln in lines],
                [ln.quantity for ln in lines],
                [ln.unit_price for ln in lines],
            ),
        )

    async def get(self, order_id: OrderId) -> Order | None:
        cur = await self.conn.execute(SELECT_ORDER, (order_id,))
        row = await cur.fetchone()
        if row is None:
            return None
        cur = await self.conn.execute(SELECT_LINES, (order_id,))
        lines = tuple(OrderLine(r["sku"], r["quantity"], r["unit_price"]) for r in await cur.fetchall())
        return Order(
            id=row["id"],
            vendor_id=VendorId(row["vendor_id"]),
            order_number=row["order_number"],
            status=OrderStatus(row["status"]),
            lines=lines,
            erp_reference=row["erp_reference"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def set_status(
        self, order_id: OrderId, status: OrderStatus, now: datetime, *, erp_reference: str | None = None
    ) -> None:
        await self.conn.execute(UPDATE_ORDER_STATUS, (status.value, erp_reference, now, order_id))


# ---------------------------------------------------------------- sync jobs
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
        try:
            async with self.pool.connection() as conn:
                return await PgSyncJobRepository(conn).claim(job_id, worker, now, until)
        except psycopg.OperationalError as exc:
            raise DependencyUnavailable("the database is unavailable") from exc

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        try:
            async with self.pool.connection() as conn:
                return await PgSyncJobRepository(conn).save_claimed(job, worker, attempts)
        except psycopg.OperationalError as exc:
            raise DependencyUnavailable("the database is unavailable") from exc


# ---------------------------------------------------------------- dead letters
REFRESH_LETTER = """
UPDATE dead_letter_queue SET payload = %s, last_error = %s, attempts = %s
WHERE sync_job_id = %s AND NOT resolved
RETURNING *
"""
INSERT_LETTER = """
INSERT INTO dead_letter_queue (sync_job_id, vendor_id, job_type, payload, last_error, attempts, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
RETURNING *
"""
SELECT_LETTER = "SELECT * FROM dead_letter_queue WHERE id = %s"
SELECT_LETTER_FOR_UPDATE = "SELECT * FROM dead_letter_queue WHERE id = %s FOR UPDATE"
SELECT_LETTERS_OF_JOB = "SELECT * FROM dead_letter_queue WHERE sync_job_id = %s ORDER BY created_at"
LIST_UNRESOLVED = """
SELECT *, count(*) OVER () AS total FROM dead_letter_queue
WHERE NOT resolved AND (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
ORDER BY created_at, id
LIMIT %(limit)s OFFSET %(offset)s
"""
COUNT_UNRESOLVED = """
SELECT count(*) AS total FROM dead_letter_queue
WHERE NOT resolved AND (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
"""
SAVE_LETTER = """
UPDATE dead_letter_queue SET resolved = %s, resolved_at = %s, retry_count = %s, last_retried_at = %s
WHERE id = %s
"""
RESOLVE_LETTERS_OF_JOB = """
UPDATE dead_letter_queue SET resolved = true, resolved_at = %s WHERE sync_job_id = %s AND NOT resolved
"""


def letter_from_row(row: Row) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        sync_job_id=row["sync_job_id"],
        vendor_id=VendorId(row["vendor_id"]),
        job_type=row["job_type"],
        payload=row["payload"],
        last_error=row["last_error"],
        attempts=row["attempts"],
        resolved=row["resolved"],
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        retry_count=row["retry_count"],
        last_retried_at=row["last_retried_at"],
    )


class PgDeadLetterRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def add(self, job: SyncJob, now: datetime) -> DeadLetter:
        cur = await self.conn.execute(REFRESH_LETTER, (Jsonb(job.payload), job.last_error, job.attempts, job.id))
        row = await cur.fetchone()
        if row is None:
            cur = await self.conn.execute(
                INSERT_LETTER,
                (job.id, job.vendor_id, job.job_type, Jsonb(job.payload), job.last_error, job.attempts, now),
            )
            row = await cur.fetchone()
        assert row is not None
        return letter_from_row(row)

    async def get(self, letter_id: DeadLetterId, *, for_update: bool = False) -> DeadLetter | None:
        cur = await self.conn.execute(SELECT_LETTER_FOR_UPDATE if for_update else SELECT_LETTER, (letter_id,))
        row = await cur.fetchone()
        return letter_from_row(row) if row else None

    async def for_job(self, job_id: SyncJobId) -> list[DeadLetter]:
        cur = await self.conn.execute(SELECT_LETTERS_OF_JOB, (job_id,))
        return [letter_from_row(r) for r in await cur.fetchall()]

    async def list_unresolved(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        params = {"vendor": vendor_id, "limit": page.limit, "offset": page.offset}
        cur = await self.conn.execute(LIST_UNRESOLVED, params)
        rows = await cur.fetchall()
        if rows:
            total = rows[0]["total"]
        else:
            cur = await self.conn.execute(COUNT_UNRESOLVED, params)
            total = (await cur.fetchone() or {"total": 0})["total"]
        return Page(items=[letter_from_row(r) for r in rows], page=page.page, limit=page.limit, total=total)

    async def save(self, letter: DeadLetter) -> None:
        await self.conn.execute(
            SAVE_LETTER,
            (letter.resolved, letter.resolved_at, letter.retry_count, letter.last_retried_at, letter.id),
        )

    async def resolve_for_job(self, job_id: SyncJobId, now: datetime) -> int:
        cur = await self.conn.execute(RESOLVE_LETTERS_OF_JOB, (now, job_id))
        return cur.rowcount


# ---------------------------------------------------------------- agent URLs (read-only)
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
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(SELECT_AGENT_URL, (vendor_id,))
                row = await cur.fetchone()
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise DependencyUnavailable("the database is unavailable") from exc
        if row is None:
            return None  # not remembered: "no agent" dead-letters a job, so it is always asked afresh
        url = str(row["agent_url"])
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[vendor_id] = (now, url)
        return url


def bind_order_repositories(uow: Any, conn: AsyncConnection[Any]) -> None:
    uow.orders = PgOrderRepository(conn)
    uow.sync_jobs = PgSyncJobRepository(conn)
    uow.dead_letters = PgDeadLetterRepository(conn)
