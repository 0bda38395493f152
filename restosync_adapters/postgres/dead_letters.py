"""PgDeadLetterRepository: ``dead_letter_queue``, one unresolved letter per sync job at most."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from restosync_adapters.postgres.rows import columns, fetch_all, fetch_one, fetch_page, model_and, model_row, render
from restosync_core.model.delivery import DeadLetterBacklog
from restosync_core.model.ids import DeadLetterId, SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, SyncJob
from restosync_core.model.pagination import Page, PageRequest

LETTER_ROW = model_row(DeadLetter)
LETTER_AND_TOTAL_ROW = model_and(DeadLetter, "total")
BACKLOG_ROW = model_row(DeadLetterBacklog)
_LETTER = columns(DeadLetter, exclude=("details",))  # details are the API's, not stored


def _q(template: str) -> str:
    return render(sql.SQL(template).format(letter=_LETTER))


REFRESH_LETTER = _q("""
UPDATE dead_letter_queue SET payload = %s, last_error = %s, attempts = %s
WHERE sync_job_id = %s AND NOT resolved
RETURNING {letter}
""")
INSERT_LETTER = _q("""
INSERT INTO dead_letter_queue (sync_job_id, vendor_id, job_type, payload, last_error, attempts, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
RETURNING {letter}
""")
SELECT_LETTER = _q("SELECT {letter} FROM dead_letter_queue WHERE id = %s")
SELECT_LETTER_FOR_UPDATE = SELECT_LETTER + " FOR UPDATE"
SELECT_LETTERS_OF_JOB = _q("SELECT {letter} FROM dead_letter_queue WHERE sync_job_id = %s ORDER BY created_at")
LIST_UNRESOLVED = _q("""
SELECT {letter}, count(*) OVER () AS total FROM dead_letter_queue
WHERE NOT resolved AND (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
ORDER BY created_at, id
LIMIT %(limit)s OFFSET %(offset)s
""")
COUNT_UNRESOLVED = """
SELECT count(*) FROM dead_letter_queue
WHERE NOT resolved AND (%(vendor)s::text IS NULL OR vendor_id = %(vendor)s)
"""
SAVE_LETTER = """
UPDATE dead_letter_queue SET resolved = %s, resolved_at = %s, retry_count = %s, last_retried_at = %s,
       sync_job_id = %s
WHERE id = %s
"""
UNRESOLVED_BY_VENDOR = """
SELECT vendor_id, count(*) AS count, min(created_at) AS oldest_at FROM dead_letter_queue
WHERE NOT resolved
GROUP BY vendor_id
ORDER BY vendor_id
"""
RESOLVE_LETTERS_OF_JOB = """
UPDATE dead_letter_queue SET resolved = true, resolved_at = %s WHERE sync_job_id = %s AND NOT resolved
"""


class PgDeadLetterRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def add(self, job: SyncJob, now: datetime) -> DeadLetter:
        letter = await fetch_one(
            self.conn, LETTER_ROW, REFRESH_LETTER, (Jsonb(job.payload), job.last_error, job.attempts, job.id)
        )
        if letter is None:
            letter = await fetch_one(
                self.conn,
                LETTER_ROW,
                INSERT_LETTER,
                (job.id, job.vendor_id, job.job_type, Jsonb(job.payload), job.last_error, job.attempts, now),
            )
        assert letter is not None
        return letter

    async def get(self, letter_id: DeadLetterId, *, for_update: bool = False) -> DeadLetter | None:
        query = SELECT_LETTER_FOR_UPDATE if for_update else SELECT_LETTER
        return await fetch_one(self.conn, LETTER_ROW, query, (letter_id,))

    async def for_job(self, job_id: SyncJobId) -> list[DeadLetter]:
        return await fetch_all(self.conn, LETTER_ROW, SELECT_LETTERS_OF_JOB, (job_id,))

    async def list_unresolved(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        params = {"vendor": vendor_id, "limit": page.limit, "offset": page.offset}
        return await fetch_page(self.conn, LETTER_AND_TOTAL_ROW, LIST_UNRESOLVED, COUNT_UNRESOLVED, params, page)

    async def save(self, letter: DeadLetter) -> None:
        await self.conn.execute(
            SAVE_LETTER,
            (
                letter.resolved, letter.resolved_at, letter.retry_count, letter.last_retried_at,
                letter.sync_job_id, letter.id,
            ),
        )

    async def unresolved_by_vendor(self) -> list[DeadLetterBacklog]:
        return await fetch_all(self.conn, BACKLOG_ROW, UNRESOLVED_BY_VENDOR)

    async def resolve_for_job(self, job_id: SyncJobId, now: datetime) -> int:
        cur = await self.conn.execute(RESOLVE_LETTERS_OF_JOB, (now, job_id))
        return cur.rowcount
