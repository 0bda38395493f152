"""Ask for a reconciliation run of a vendor (an admin, or the hourly drift detection) and wake a worker.

At most one run per vendor is active (queued or running). Asking again while
one is active answers that run (``RunRequest.created`` False) and wakes it
again, which brings back a wake-up Redis lost; asking for another scope, or to
confirm, while one is active is a conflict naming the active run.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from restosync_core.errors import Conflict, NotFound
from restosync_core.model.agents import AgentStatus
from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.model.reconciliation import ReconciliationRun, RunId, RunScope, RunStatus, RunTrigger
from restosync_core.ports.clock import Clock
from restosync_core.ports.reconciliation import ReconciliationQueue, ReconciliationRuns, RunRequest
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TriggerReconciliation:
    uow: UnitOfWorkFactory
    runs: ReconciliationRuns
    queue: ReconciliationQueue
    clock: Clock

    async def __call__(
        self,
        vendor_id: VendorId,
        scope: RunScope = RunScope.ALL,
        *,
        confirm: bool = False,
        trigger: RunTrigger = RunTrigger.ADMIN,
        context: RequestContext = NO_REQUEST,
        correlation_id: uuid.UUID | None = None,
    ) -> RunRequest:
        async with self.uow(autocommit=True) as uow:
            agent = await uow.agents.get(vendor_id)
        if agent is None:
            raise NotFound(f"vendor {vendor_id} has no registered agent: there is no ERP to reconcile with")
        now = self.clock.now()
        run_id = uuid.uuid4()
        request = await self.runs.request(ReconciliationRun(
            id=RunId(run_id), vendor_id=vendor_id, scope=scope, trigger=trigger, status=RunStatus.QUEUED,
            requested_at=now, confirmed=confirm, correlation_id=correlation_id or run_id,
        ))
        active = request.run
        if not request.created and (active.scope is not scope or (confirm and not active.confirmed)):
            raise Conflict(
                f"vendor {vendor_id} already has a {active.status.value} reconciliation run {active.id} "
                f"({active.scope.value}{', confirmed' if active.confirmed else ''}); "
                "wait for it to finish, then ask again",
                detail={"runId": str(active.id)},
            )
        if trigger is RunTrigger.ADMIN:
            async with self.uow() as uow:
                await uow.audit_log.record(AuditEntry(
                    "reconciliation.trigger", "vendor", vendor_id, context, now,
                    {"runId": str(active.id), "scope": scope.value, "confirm": confirm,
                     "created": request.created, "agentStatus": agent.status.value},
                ))
        if active.status is RunStatus.QUEUED:
            await self.queue.wake_run(active.id)
        if agent.status is AgentStatus.OFFLINE:
            log.info("reconciliation run %s queued for vendor %s, whose agent is offline: it will be skipped",
                     active.id, vendor_id)
        return request
