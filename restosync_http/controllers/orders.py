"""``POST /api/orders`` (the marketplace places an order) and ``GET /api/orders/:id``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED

from restosync_core.model.ids import OrderId
from restosync_http.dto.orders import OrderResponse, PlaceOrderRequest
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.rate_limit import ADMIN, NO_GLOBAL_LIMIT, rate_limits
from restosync_http.request_context import correlation_id

OrderIdPath = Annotated[UUID, PathParameter(description="The order's id.")]

class OrdersController(Controller):
    path = "/api/orders"
    tags = ["orders"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)

    @post(
        "/",
        operation_id="placeOrder",
        summary="Place an order for delivery to the vendor's ERP",
        description=(
            "Writes the order, its lines and its sync job (pending) in one transaction, then wakes a worker. "
            "Answers the order with `syncJobId`; follow it at `GET /api/admin/sync-status/{jobId}`. "
            "The request's `X-Correlation-ID` (a UUID; one is made up when absent or invalid, and answered "
            "in the same header) becomes the sync job's `correlationId`: it goes to the agent with the order "
            "and is on every log line of the delivery and of the callback. "
            "Decimals are JSON strings. 409 when the vendor already has that order number. "
            "This is the marketplace backend's order flow, not an admin action: neither the admin limit "
            "(30/min) nor the per-IP global limit applies."
        ),
        status_code=HTTP_201_CREATED,
        opt={**rate_limits(), **NO_GLOBAL_LIMIT},
        responses=problems((409, "the vendor already has that order number")),
    )
    async def place(self, request: Request[Any, Any, Any], data: JSONBody[PlaceOrderRequest]) -> OrderResponse:
        placed = await services_of(request).place_order(data.to_core(), correlation_id(request))
        return OrderResponse.of(placed.order, placed.sync_job_id)

    @get(
        "/{order_id:uuid}",
        operation_id="getOrder",
        summary="One order, with its status and ERP reference",
        description=(
            "`erpReference` is set once the vendor's agent confirmed the order. The same body as "
            "`POST /api/orders` answered (decimals with 4 places, `syncJobId`), with the current status. "
            "404 when there is no such order."
        ),
        responses=problems((404, "no order has that id")),
    )
    async def get_order(self, request: Request[Any, Any, Any], order_id: OrderIdPath) -> OrderResponse:
        found = await services_of(request).get_order(OrderId(order_id))
        return OrderResponse.of(found.order, found.sync_job_id)
