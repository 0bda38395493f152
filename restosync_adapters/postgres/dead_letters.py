"""PgDeadLetterRepository: ``dead_letter_queue``, one unresolved letter per sync job at most."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from restosync_core.model.ids import DeadLetterId, SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, SyncJob
from restosync_core.model.pagination import Page, PageRequest

Row = dict[str, Any]

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
