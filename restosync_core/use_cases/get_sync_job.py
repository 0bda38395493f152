"""Read one sync job with its payload; NotFound if there is none."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.ids import SyncJobId
from restosync_core.model.orders import SyncJob
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.get_sync_status import GetSyncStatus


@dataclass(frozen=True, slots=True)
class GetSyncJob:
    uow: UnitOfWorkFactory

    async def __call__(self, job_id: SyncJobId) -> SyncJob:
        return (await GetSyncStatus(self.uow)(job_id)).job
