"""Drift detection (hourly, REQ-9/REQ-10): one reconciliation run per vendor whose agent is online.

Runs go to the ``reconciliation`` queue, whose workers are not the order
workers: a long run never delays an order. A vendor whose run from the last
hour is still queued or running is not asked twice; its wake-up is repeated
(in case Redis lost it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from restosync_core.errors import Conflict, NotFound
from restosync_core.model.agents import AgentStatus
from restosync_core.model.reconciliation import RunScope, RunTrigger
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.trigger_reconciliation import TriggerReconciliation

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DetectDrift:
    uow: UnitOfWorkFactory
    trigger: TriggerReconciliation

    async def __call__(self) -> str:
        async with self.uow(autocommit=True) as uow:
            agents = await uow.agents.all()
        online = [a for a in agents if a.status is AgentStatus.ONLINE]
        queued = already = 0
        for agent in online:
            try:
                request = await self.trigger(agent.vendor_id, RunScope.ALL, trigger=RunTrigger.SCHEDULE)
            except Conflict:  # an admin's run of one entity is active: it will do
                already += 1
                continue
            except NotFound:  # deregistered since the list was read
                continue
            if request.created:
                queued += 1
            else:
                already += 1
        result = (
            f"{queued} run(s) queued, {already} vendor(s) with a run already active, "
            f"{len(agents) - len(online)} vendor(s) not online"
        )
        log.info("drift detection: %s", result)
        return result
