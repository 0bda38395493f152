"""Retry a dead letter: the same sync job delivered afresh, original payload, same idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, replace

from restosync_core.errors import Conflict, NotFound
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import DeadLetterId
from restosync_core.model.orders import DeadLetter, OrderStatus, SyncJobStatus
from restosync_core.policies import retry
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.sweep_sync_jobs import wake_or_leave_to_sweeper


@dataclass(frozen=True, slots=True)
class RetryDeadLetter:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock

    async def __call__(self, letter_id: DeadLetterId, context: RequestContext) -> DeadLetter:
        now = self.clock.now()
        async with self.uow() as uow:
            letter = await uow.dead_letters.get(letter_id, for_update=True)
            if letter is None:
                raise NotFound(f"no dead letter {letter_id}")
            if letter.resolved:
                raise Conflict("this dead letter is resolved; there is nothing to retry")
            job = await uow.sync_jobs.get(letter.sync_job_id, for_update=True) if letter.sync_job_id else None
            if job is None:
                raise Conflict("the sync job of this dead letter no longer exists")
            if job.status is not SyncJobStatus.FAILED:
                raise Conflict(f"its sync job is {job.status.value}, not failed: a retry would deliver it twice")
            fresh = retry.retried(job, now, letter.payload)
            await uow.sync_jobs.save(fresh)
            if job.order_id is not None:
                await uow.orders.set_status(job.order_id, OrderStatus.PENDING, now)
            letter = replace(letter, retry_count=letter.retry_count + 1, last_retried_at=now)
            await uow.dead_letters.save(letter)
            await uow.audit_log.record(
                AuditEntry(
                    action="dlq.retry",
                    entity_type="dead_letter",
                    entity_id=str(letter.id),
                    context=context,
                    created_at=now,
                    details={"syncJobId": str(job.id), "retryCount": letter.retry_count},
                )
            )
        await wake_or_leave_to_sweeper(self.queue, fresh.id, now)
        return letter
