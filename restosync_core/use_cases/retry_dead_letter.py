"""Retry a dead letter: the same sync job delivered afresh, original payload, same idempotency key.

A failed job's row may have been cleaned away by retention (docs/operations.md)
while its letter stays: the retry then rebuilds the job from the letter (REQ-8:
"re-creates the job with the original payload"), under the job id the payload
names, so the agent sees the same ``Idempotency-Key`` as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from restosync_core.errors import Conflict, NotFound
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId
from restosync_core.model.orders import DeadLetter, OrderStatus, SyncJob, SyncJobStatus, pending_sync_job
from restosync_core.policies import retry
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases.sweep_sync_jobs import wake_or_leave_to_sweeper


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def rebuilt_job(
    uow: UnitOfWork, letter: DeadLetter, job_id: SyncJobId, now: datetime, policy: RetryPolicy
) -> SyncJob:
    """A fresh pending job delivering the letter's payload (its order, if that still exists)."""
    order_id = _uuid(letter.payload.get("orderId"))
    if order_id is not None and await uow.orders.get(OrderId(order_id)) is None:
        order_id = None
    return pending_sync_job(
        job_id, order_id=OrderId(order_id) if order_id else None, vendor_id=letter.vendor_id,
        job_type=letter.job_type, payload=letter.payload, max_attempts=policy.max_attempts, now=now,
    )


@dataclass(frozen=True, slots=True)
class RetryDeadLetter:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    async def __call__(self, letter_id: DeadLetterId, context: RequestContext) -> DeadLetter:
        now = self.clock.now()
        async with self.uow() as uow:
            letter = await uow.dead_letters.get(letter_id, for_update=True)
            if letter is None:
                raise NotFound(f"no dead letter {letter_id}")
            if letter.resolved:
                raise Conflict("this dead letter is resolved; there is nothing to retry")
            raw_id = letter.sync_job_id or _uuid(letter.payload.get("jobId"))
            job_id = SyncJobId(raw_id or uuid.uuid4())
            job = await uow.sync_jobs.get(job_id, for_update=True) if raw_id else None
            rebuilt = job is None
            if job is None:  # cleaned away by retention: the letter holds all it needs
                fresh = await rebuilt_job(uow, letter, job_id, now, self.policy)
                await uow.sync_jobs.add(fresh)
            else:
                if job.status is not SyncJobStatus.FAILED:
                    raise Conflict(f"its sync job is {job.status.value}, not failed: a retry would deliver it twice")
                fresh = retry.retried(job, now, letter.payload)
                await uow.sync_jobs.save(fresh)
            if fresh.order_id is not None:
                await uow.orders.set_status(fresh.order_id, OrderStatus.PENDING, now)
            letter = replace(letter, sync_job_id=fresh.id, retry_count=letter.retry_count + 1, last_retried_at=now)
            await uow.dead_letters.save(letter)
            await uow.audit_log.record(
                AuditEntry(
                    action="dlq.retry",
                    entity_type="dead_letter",
                    entity_id=str(letter.id),
                    context=context,
                    created_at=now,
                    details={"syncJobId": str(fresh.id), "retryCount": letter.retry_count, "rebuilt": rebuilt},
                )
            )
        await wake_or_leave_to_sweeper(self.queue, fresh.id, now)
        return letter
