"""Read one sync job's full delivery status: the job, its order and its dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.delivery import SyncJobDetail
from restosync_core.model.ids import SyncJobId
from restosync_core.model.orders import Order
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class GetSyncStatus:
    uow: UnitOfWorkFactory

    async def __call__(self, job_id: SyncJobId) -> SyncJobDetail:
        async with self.uow() as uow:
            job = await uow.sync_jobs.get(job_id)
            if job is None:
                raise NotFound(f"no sync job {job_id}")
            order: Order | None = await uow.orders.get(job.order_id) if job.order_id else None
            letters = await uow.dead_letters.for_job(job.id)
        return SyncJobDetail(job=job, order=order, dead_letters=tuple(letters))
