"""List sync jobs, newest first, filtered by vendor and status, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.orders import SyncJob
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ListSyncJobs:
    uow: UnitOfWorkFactory

    async def __call__(self, filter_: SyncJobFilter, page: PageRequest) -> Page[SyncJob]:
        async with self.uow() as uow:
            return await uow.sync_jobs.list(filter_, page)
