"""What admins read about reconciliation: one run, the event log, and a vendor's figures."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.model.reconciliation import ReconciliationEvent, ReconciliationRun, RunId
from restosync_core.ports.clock import Clock
from restosync_core.ports.reconciliation import EventFilter, ReconciliationMetrics, ReconciliationRuns


@dataclass(frozen=True, slots=True)
class GetReconciliationRun:
    runs: ReconciliationRuns

    async def __call__(self, run_id: RunId) -> ReconciliationRun:
        run = await self.runs.get(run_id)
        if run is None:
            raise NotFound(f"no reconciliation run {run_id}")
        return run


@dataclass(frozen=True, slots=True)
class ListReconciliationEvents:
    runs: ReconciliationRuns

    async def __call__(self, where: EventFilter, page: PageRequest) -> Page[ReconciliationEvent]:
        return await self.runs.events(where, page)


@dataclass(frozen=True, slots=True)
class GetReconciliationMetrics:
    runs: ReconciliationRuns
    clock: Clock

    async def __call__(self, vendor_id: VendorId) -> ReconciliationMetrics:
        return await self.runs.metrics(vendor_id, self.clock.now())
