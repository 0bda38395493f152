"""Deliver an order to its vendor's agent: claim the job, call through the breaker, record the outcome.

The claim (a conditional update in the database) makes a duplicate wake-up do
nothing. A vendor with no registered agent any more dead-letters the job at
once. The call happens outside any transaction. The outcome is written only
if this worker still holds the claim: a callback that arrived meanwhile, or a
worker that took over an expired claim, wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from restosync_core import log_context
from restosync_core.errors import AgentRefused, CircuitOpen, TransientError
from restosync_core.model.delivery import ORDERS_API, BreakerKey, DeliveryOutcome
from restosync_core.model.ids import SyncJobId
from restosync_core.model.orders import SyncJob, SyncJobStatus
from restosync_core.policies import retry
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.agent_client import AgentClient, AgentDirectory
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.clock import Clock
from restosync_core.ports.orders import SyncJobClaims
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.dead_letter_sync_job import dead_letter_sync_job
from restosync_core.use_cases.sweep_sync_jobs import wake_or_leave_to_sweeper

log = logging.getLogger(__name__)

Transition = Callable[[SyncJob, datetime], SyncJob]


@dataclass(frozen=True, slots=True)
class DeliverOrder:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock
    policy: RetryPolicy
    directory: AgentDirectory
    agents: AgentClient
    breaker: CircuitBreaker
    worker: str
    """This worker's name, written in the claim."""
    claims: SyncJobClaims

    async def __call__(self, job_id: SyncJobId) -> DeliveryOutcome:
        now = self.clock.now()
        job = await self.claims.claim(job_id, self.worker, now, self.policy.claim_until(now))
        if job is None:
            return DeliveryOutcome.NOT_CLAIMED
        log_context.bind(correlation_id=str(job.correlation_id), vendor_id=job.vendor_id)
        if retry.is_exhausted(job, self.policy):
            error = f"out of attempts; last error: {job.last_error or 'no callback came'}"
            return await self._finish(job, lambda j, t: replace(retry.dead(j, t), last_error=error))
        try:
            await self._call_agent(job)
        except CircuitOpen as exc:
            retry_at = exc.retry_at
            log.info("breaker open for %s: sync job %s deferred to %s", job.vendor_id, job.id, retry_at)
            return await self._finish(job, lambda j, t: retry.deferred(j, t, retry_at))
        except AgentRefused as exc:
            refusal = exc.message
            return await self._finish(
                job, lambda j, t: retry.attempt_failed(j, t, refusal, self.policy, permanent=True)
            )
        except TransientError as exc:
            message = exc.message
            return await self._finish(
                job, lambda j, t: retry.attempt_failed(j, t, message, self.policy, permanent=False)
            )
        return await self._finish(job, lambda j, t: retry.accepted(j, t, self.policy))

    async def _call_agent(self, job: SyncJob) -> None:
        endpoint = await self.directory.endpoint(job.vendor_id)
        if endpoint is None:
            # Its agent was deregistered after the order was placed. Retrying would hand the order
            # to whoever registers this vendor id next: dead-letter it now, for an admin to decide.
            log.warning("sync job %s: vendor %s has no registered agent; dead-lettering it", job.id, job.vendor_id)
            raise AgentRefused(
                f"no agent is registered for vendor {job.vendor_id} (deregistered after the order was placed); "
                "not retried: retry this dead letter once the vendor's own agent is registered again"
            )

        async def call() -> None:
            await self.agents.create_order(
                endpoint, job_id=job.id, correlation_id=job.correlation_id, payload=job.payload
            )

        await self.breaker.call(BreakerKey(job.vendor_id, ORDERS_API), call)

    async def _finish(self, claimed: SyncJob, transition: Transition) -> DeliveryOutcome:
        now = self.clock.now()
        after = transition(claimed, now)
        # One conditional write: only if nobody (a callback, a worker that took over an expired claim)
        # changed the job since this worker claimed it. A dead letter is written with it, in one
        # transaction; any other outcome is that single statement.
        if after.status is SyncJobStatus.FAILED:
            async with self.uow() as uow:
                saved = await uow.sync_jobs.save_claimed(after, self.worker, claimed.attempts)
                if saved:
                    await dead_letter_sync_job(uow, after, now, saved=True)
        else:
            saved = await self.claims.save_claimed(after, self.worker, claimed.attempts)
        if not saved:
            log.info("sync job %s changed while being delivered; leaving it as it is", claimed.id)
            return DeliveryOutcome.OVERTAKEN
        return await self._after_commit(claimed, after)

    async def _after_commit(self, claimed: SyncJob, job: SyncJob) -> DeliveryOutcome:
        # A retry is woken at its time. A sent job's callback deadline is left to the sweeper, which
        # schedules every wake-up due within its interval: one queue write less per delivery.
        if job.next_attempt_at is not None and job.status is SyncJobStatus.PENDING:
            await wake_or_leave_to_sweeper(self.queue, job.id, job.next_attempt_at)
        if job.status is SyncJobStatus.FAILED:
            outcome = DeliveryOutcome.DEAD_LETTERED
        elif job.status is SyncJobStatus.SENT:
            outcome = DeliveryOutcome.SENT
        elif job.attempts < claimed.attempts:
            outcome = DeliveryOutcome.DEFERRED
        else:
            outcome = DeliveryOutcome.RETRY_SCHEDULED
        log.info("sync job %s: %s (attempt %d of %d)", job.id, outcome.value, job.attempts, job.max_attempts)
        return outcome
