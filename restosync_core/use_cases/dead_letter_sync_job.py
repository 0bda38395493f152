"""Dead-letter a sync job: mark it failed, keep its payload and last error, fail its order (REQ-8)."""

from __future__ import annotations

import logging
from datetime import datetime

from restosync_core.model.orders import DeadLetter, OrderStatus, SyncJob
from restosync_core.ports.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def dead_letter_sync_job(uow: UnitOfWork, job: SyncJob, now: datetime, *, saved: bool = False) -> DeadLetter:
    """Inside the caller's transaction: ``job`` is already in its ``failed`` state (and written, if ``saved``)."""
    if not saved:
        await uow.sync_jobs.save(job)
    letter = await uow.dead_letters.add(job, now)
    if job.order_id is not None:
        await uow.orders.set_status(job.order_id, OrderStatus.FAILED, now)
    log.warning(
        "sync job %s dead-lettered after %d attempt(s): %s", job.id, job.attempts, job.last_error
    )
    return letter
