"""Read one order, with its status and ERP reference."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import OrderId
from restosync_core.model.orders import Order
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ViewOrders:
    uow: UnitOfWorkFactory

    async def one(self, order_id: OrderId) -> Order:
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        return order
