"""``POST /api/sync/{items,stock,warehouses}`` and their ``/batch`` twins: agents push their catalogue.

The vendor is the one the agent's token proves. Bodies are decoded in one
msgspec pass (a bad field is a 400 naming its JSON path); bodies and row
counts over the endpoint's limits are 413s naming the limit. Incremental
routes: 500 rows, 5 MB, ``rate_limit_sync`` per agent; batch routes: 5000
rows, 10 MB, ``rate_limit_sync_batch`` per agent.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from restosync_core.errors import PayloadTooLarge, ValidationFailed
from restosync_http.dto.ingest import (
    IngestResponse,
    ItemResult,
    ItemsPush,
    RawJsonDTO,
    StockPush,
    StockResult,
    WarehouseResult,
    WarehousesPush,
    item_response,
    stock_response,
    warehouse_response,
)
from restosync_http.guards import agent_guard, authenticated_vendor, services_of
from restosync_http.openapi import problems
from restosync_http.prometheus import count_ingested_rows
from restosync_http.rate_limit import SYNC, SYNC_BATCH, rate_limits

MB = 1024 * 1024
INCREMENTAL_MAX_ROWS, INCREMENTAL_MAX_BYTES = 500, 5 * MB
BATCH_MAX_ROWS, BATCH_MAX_BYTES = 5000, 10 * MB

AnyRequest = Request[Any, Any, Any]
ItemsAnswer = IngestResponse[ItemResult]
StockAnswer = IngestResponse[StockResult]
WarehousesAnswer = IngestResponse[WarehouseResult]


async def read_body_within_limit(request: AnyRequest) -> None:
    """Read the body before decoding: an oversized one is a 413 naming this route's limit, an empty one a 400."""
    limit = request.route_handler.resolve_request_max_body_size() or BATCH_MAX_BYTES
    message = f"the request body is larger than this endpoint's limit of {limit // MB} MB"
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(message, detail={"limitBytes": limit})
    try:
        body = await request.body()
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(message, detail={"limitBytes": limit}) from exc
    if not body:
        raise ValidationFailed("the request body is empty; a JSON object is expected", path="$")


def _check_rows(count: int, limit: int, field: str) -> None:
    if count > limit:
        raise PayloadTooLarge(
            f"`{field}` has {count} rows; this endpoint takes at most {limit} per request",
            detail={"limitRows": limit},
        )


PROBLEMS = problems(
    (403, "the body names another vendor than the token's"),
    (413, "over this endpoint's body size or row count, named in the detail"),
)


def _max_rows(batch: bool) -> int:
    return BATCH_MAX_ROWS if batch else INCREMENTAL_MAX_ROWS


def _route(path: str, operation_id: str, summary: str, push: type, *, batch: bool) -> HTTPRouteHandler:
    rows, size = (BATCH_MAX_ROWS, BATCH_MAX_BYTES) if batch else (INCREMENTAL_MAX_ROWS, INCREMENTAL_MAX_BYTES)
    kind = "Batch (full reconciliation push)" if batch else "Incremental push"
    return post(
        path,
        operation_id=operation_id,
        summary=summary,
        description=(
            f"{kind}: at most {rows} rows and {size // MB} MB. One result per row, in input order: "
            "processed, or skipped/failed with a reason (docs/agent-protocol.md). The request's writes commit "
            "together or not at all; retrying it is safe."
        ),
        status_code=200,
        dto=RawJsonDTO[push],  # type: ignore[valid-type]
        return_dto=None,
        request_max_body_size=size,
        before_request=read_body_within_limit,
        opt=rate_limits(SYNC_BATCH if batch else SYNC),
        responses=PROBLEMS,
    )


class IngestController(Controller):
    path = "/api/sync"
    tags = ["sync"]
    guards = [agent_guard]
    security = [{"AgentBearer": []}]
    after_request = staticmethod(count_ingested_rows)  # Prometheus: rows by entity, status and reason

    async def _items(self, request: AnyRequest, data: ItemsPush, *, batch: bool) -> ItemsAnswer:
        _check_rows(len(data.items), _max_rows(batch), "items")
        report = await services_of(request).ingest_items(
            authenticated_vendor(request), data.to_items(), named_vendor=data.vendor_id
        )
        return item_response(data.items, report)

    async def _stock(self, request: AnyRequest, data: StockPush, *, batch: bool) -> StockAnswer:
        _check_rows(len(data.stock), _max_rows(batch), "stock")
        report = await services_of(request).ingest_stock(
            authenticated_vendor(request), data.to_levels(), named_vendor=data.vendor_id
        )
        return stock_response(data.stock, report)

    async def _warehouses(self, request: AnyRequest, data: WarehousesPush, *, batch: bool) -> WarehousesAnswer:
        _check_rows(len(data.warehouses), _max_rows(batch), "warehouses")
        report = await services_of(request).ingest_warehouses(
            authenticated_vendor(request), data.to_warehouses(), named_vendor=data.vendor_id
        )
        return warehouse_response(data.warehouses, report)

    @_route("/items", "pushItems", "Push changed items", ItemsPush, batch=False)
    async def push_items(self, request: AnyRequest, data: JSONBody[ItemsPush]) -> ItemsAnswer:
        return await self._items(request, data, batch=False)

    @_route("/items/batch", "pushItemsBatch", "Push the whole catalogue of items", ItemsPush, batch=True)
    async def push_items_batch(self, request: AnyRequest, data: JSONBody[ItemsPush]) -> ItemsAnswer:
        return await self._items(request, data, batch=True)

    @_route("/stock", "pushStock", "Push changed stock levels", StockPush, batch=False)
    async def push_stock(self, request: AnyRequest, data: JSONBody[StockPush]) -> StockAnswer:
        return await self._stock(request, data, batch=False)

    @_route("/stock/batch", "pushStockBatch", "Push every stock level", StockPush, batch=True)
    async def push_stock_batch(self, request: AnyRequest, data: JSONBody[StockPush]) -> StockAnswer:
        return await self._stock(request, data, batch=True)

    @_route("/warehouses", "pushWarehouses", "Push changed warehouses", WarehousesPush, batch=False)
    async def push_warehouses(self, request: AnyRequest, data: JSONBody[WarehousesPush]) -> WarehousesAnswer:
        return await self._warehouses(request, data, batch=False)

    @_route("/warehouses/batch", "pushWarehousesBatch", "Push every warehouse", WarehousesPush, batch=True)
    async def push_warehouses_batch(
        self, request: AnyRequest, data: JSONBody[WarehousesPush]
    ) -> WarehousesAnswer:
        return await self._warehouses(request, data, batch=True)
