"""Sweep sync jobs: wake a worker for every unfinished job that is due, whatever RQ remembers.

PostgreSQL holds every delivery's state; RQ only wakes workers. Redis may have
been flushed (queued and scheduled wake-ups gone) or a worker killed mid-call
(its claim expires). Both leave a job whose ``next_attempt_at`` has passed, and
the sweeper wakes it. A wake-up that is already queued is not queued again, and
a duplicate one is harmless: the worker's claim in the database decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from restosync_core.errors import TransientError
from restosync_core.model.ids import SyncJobId
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)


async def wake_or_leave_to_sweeper(queue: JobQueue, job_id: SyncJobId, due_at: datetime) -> None:
    """Wake a worker after a commit; if the queue is down the job is safe and the sweeper wakes it.

    The queue's adapter logs an outage once; here each job left to the sweeper is a debug line.
    """
    try:
        await queue.wake_delivery(job_id, due_at)
    except TransientError as exc:
        log.debug("could not queue sync job %s (%s); the sweeper will", job_id, exc)


@dataclass(frozen=True, slots=True)
class SweepSyncJobs:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock
    horizon_seconds: float = 60.0
    """Also schedule wake-ups for jobs due within this long (the sweep interval)."""
    batch: int = 5000

    async def __call__(self) -> int:
        """Answer how many wake-ups were queued (those already queued are not counted)."""
        before = self.clock.now() + timedelta(seconds=self.horizon_seconds)
        async with self.uow() as uow:
            due = await uow.sync_jobs.due(before, self.batch)
        woken = 0
        for job_id, due_at in due:
            woken += await self.queue.wake_delivery(job_id, due_at)
        if woken:
            log.info("sweeper woke %d sync job(s) of %d due", woken, len(due))
        return woken
