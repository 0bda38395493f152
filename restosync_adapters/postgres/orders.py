"""PgOrderRepository: an order and its lines (``orders``, ``order_lines``), in the unit of work's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from restosync_adapters.postgres.errors import map_db_errors
from restosync_core.errors import Conflict
from restosync_core.model.ids import OrderId, VendorId
from restosync_core.model.orders import Order, OrderLine, OrderStatus

INSERT_ORDER = """
INSERT INTO orders (id, vendor_id, order_number, status, created_at, updated_at)
VALUES (%s, %s, %s, 'pending', %s, %s)
"""
INSERT_LINES = """
INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price)
SELECT %s, n, sku, quantity, unit_price
FROM unnest(%s::int[], %s::text[], %s::numeric[], %s::numeric[]) AS t(n, sku, quantity, unit_price)
"""
SELECT_ORDER = "SELECT * FROM orders WHERE id = %s"
SELECT_LINES = "SELECT sku, quantity, unit_price FROM order_lines WHERE order_id = %s ORDER BY line_no"
UPDATE_ORDER_STATUS = """
UPDATE orders SET status = %s, erp_reference = coalesce(%s, erp_reference), updated_at = %s WHERE id = %s
"""


class PgOrderRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def add(self, order: Order) -> None:
        def conflict() -> Conflict:
            return Conflict(f"vendor {order.vendor_id} already has an order numbered {order.order_number}")

        with map_db_errors(conflict=conflict):
            async with self.conn.transaction():  # a savepoint: the caller's transaction survives a conflict
                await self.conn.execute(
                    INSERT_ORDER,
                    (order.id, order.vendor_id, order.order_number, order.created_at, order.updated_at),
                )
        lines = order.lines
        await self.conn.execute(
            INSERT_LINES,
            (
                order.id,
                list(range(1, len(lines) + 1)),
                [ln.sku for ln in lines],
                [ln.quantity for ln in lines],
                [ln.unit_price for ln in lines],
            ),
        )

    async def get(self, order_id: OrderId) -> Order | None:
        cur = await self.conn.execute(SELECT_ORDER, (order_id,))
        row = await cur.fetchone()
        if row is None:
            return None
        cur = await self.conn.execute(SELECT_LINES, (order_id,))
        lines = tuple(OrderLine(r["sku"], r["quantity"], r["unit_price"]) for r in await cur.fetchall())
        return Order(
            id=row["id"],
            vendor_id=VendorId(row["vendor_id"]),
            order_number=row["order_number"],
            status=OrderStatus(row["status"]),
            lines=lines,
            erp_reference=row["erp_reference"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    async def set_status(
        self, order_id: OrderId, status: OrderStatus, now: datetime, *, erp_reference: str | None = None
    ) -> None:
        await self.conn.execute(UPDATE_ORDER_STATUS, (status.value, erp_reference, now, order_id))
