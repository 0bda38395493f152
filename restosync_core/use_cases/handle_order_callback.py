"""Handle an agent's callback about an order delivery (docs/agent-protocol.md, "The callback").

completed -> the job completed and the order's ERP reference set, in one
transaction; failed -> that attempt failed (retry or dead letter); the same
callback again -> 200 and nothing changes; another vendor's job -> 403; a second
``completed`` with another reference -> 409.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from restosync_core import log_context
from restosync_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from restosync_core.model.delivery import AgentCallback, CallbackResult, CallbackStatus
from restosync_core.model.ids import VendorId
from restosync_core.model.orders import OrderStatus, SyncJob, SyncJobStatus
from restosync_core.policies import retry
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases.dead_letter_sync_job import dead_letter_sync_job
from restosync_core.use_cases.sweep_sync_jobs import wake_or_leave_to_sweeper

log = logging.getLogger(__name__)

MAX_REFERENCE_LENGTH = 255


@dataclass(frozen=True, slots=True)
class HandleOrderCallback:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock
    policy: RetryPolicy

    async def __call__(self, vendor_id: VendorId, callback: AgentCallback) -> tuple[CallbackResult, SyncJob]:
        reference = (callback.erp_reference or "").strip()
        if callback.status is CallbackStatus.COMPLETED and not reference:
            raise ValidationFailed("a completed callback needs an erpReference", path="$.erpReference")
        if len(reference) > MAX_REFERENCE_LENGTH:
            raise ValidationFailed(
                f"erpReference is at most {MAX_REFERENCE_LENGTH} characters", path="$.erpReference"
            )
        async with self.uow() as uow:
            job = await uow.sync_jobs.get(callback.job_id, for_update=True)
            if job is None:
                raise NotFound(f"no sync job {callback.job_id}")
            if job.vendor_id != vendor_id:
                raise Forbidden("this sync job belongs to another vendor")
            log_context.bind(sync_job_id=str(job.id), correlation_id=str(job.correlation_id))
            if callback.status is CallbackStatus.COMPLETED:
                result, job = await self._completed(uow, job, reference)
            else:
                result, job = await self._failed(uow, job, callback.error)
        if result is CallbackResult.APPLIED and job.status is SyncJobStatus.PENDING and job.next_attempt_at:
            await wake_or_leave_to_sweeper(self.queue, job.id, job.next_attempt_at)
        return result, job

    async def _completed(self, uow: UnitOfWork, job: SyncJob, reference: str) -> tuple[CallbackResult, SyncJob]:
        if job.status is SyncJobStatus.COMPLETED:
            if job.erp_reference == reference:
                return CallbackResult.UNCHANGED, job
            raise Conflict(
                f"sync job {job.id} was already completed with another erpReference",
                detail={"erpReference": job.erp_reference},
            )
        now = self.clock.now()
        done = retry.completed(job, now, reference)
        await uow.sync_jobs.save(done)
        if done.order_id is not None:
            await uow.orders.set_status(done.order_id, OrderStatus.SYNCED, now, erp_reference=reference)
        # The ERP has the order: a dead letter of this job (a retried one, or a late callback) is settled.
        await uow.dead_letters.resolve_for_job(job.id, now)
        log.info("sync job %s completed: ERP reference %s", job.id, reference)
        return CallbackResult.APPLIED, done

    async def _failed(self, uow: UnitOfWork, job: SyncJob, error: str | None) -> tuple[CallbackResult, SyncJob]:
        if job.status is SyncJobStatus.COMPLETED:
            raise Conflict(f"sync job {job.id} was already completed")
        if job.status not in (SyncJobStatus.SENT, SyncJobStatus.PROCESSING):
            return CallbackResult.UNCHANGED, job  # that attempt's failure was already recorded
        now = self.clock.now()
        message = f"the agent reported: {error}" if error else "the agent reported a failure"
        after = retry.attempt_failed(job, now, message, self.policy, permanent=False)
        if after.status is SyncJobStatus.FAILED:
            await dead_letter_sync_job(uow, after, now)
        else:
            await uow.sync_jobs.save(after)
        log.info("sync job %s failed at the agent (%s): now %s", job.id, message, after.status.value)
        return CallbackResult.APPLIED, after
