"""PgOrderRepository: an order and its lines (``orders``, ``order_lines``), in the unit of work's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from psycopg import AsyncConnection, sql

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import columns, fetch_all, fetch_one, model_row, render
from restosync_core.errors import Conflict
from restosync_core.model.ids import OrderId
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
ORDER_ROW = model_row(partial(Order, lines=()), status=OrderStatus)  # the lines are read next
LINE_ROW = model_row(OrderLine)
SELECT_ORDER = render(sql.SQL("SELECT {} FROM orders WHERE id = %s").format(columns(Order, exclude=("lines",))))
SELECT_LINES = render(
    sql.SQL("SELECT {} FROM order_lines WHERE order_id = %s ORDER BY line_no").format(columns(OrderLine))
)
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
        order = await fetch_one(self.conn, ORDER_ROW, SELECT_ORDER, (order_id,))
        if order is None:
            return None
        lines = await fetch_all(self.conn, LINE_ROW, SELECT_LINES, (order_id,))
        return replace(order, lines=tuple(lines))

    async def set_status(
        self, order_id: OrderId, status: OrderStatus, now: datetime, *, erp_reference: str | None = None
    ) -> None:
        await self.conn.execute(UPDATE_ORDER_STATUS, (status.value, erp_reference, now, order_id))
