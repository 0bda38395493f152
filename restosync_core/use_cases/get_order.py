"""Read one order, with its status, ERP reference and the sync job delivering it."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.delivery import OrderView
from restosync_core.model.ids import OrderId
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class GetOrder:
    uow: UnitOfWorkFactory

    async def __call__(self, order_id: OrderId) -> OrderView:
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
            job_id = await uow.sync_jobs.id_for_order(order_id) if order is not None else None
        if order is None:
            raise NotFound(f"no order {order_id}")
        return OrderView(order, job_id)
