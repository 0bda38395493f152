"""Bodies of the six ``/api/sync`` push endpoints and their per-row answers (docs/agent-protocol.md).

The rows themselves (``ItemIn``, ``StockIn``, ``WarehouseIn`` and their field
types) live in ``restosync_adapters/wire_rows.py``: the agent client reads the
rows of a reconciliation answer with the same definitions. Decimals travel as
JSON strings checked by pattern (a bad one is named by its path, e.g.
``$.items[3].price``) before becoming ``Decimal``; timestamps carry an offset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec
from msgspec import Meta

from restosync_adapters.wire_rows import ItemIn as ItemIn
from restosync_adapters.wire_rows import StockIn as StockIn
from restosync_adapters.wire_rows import WarehouseIn as WarehouseIn
from restosync_core.errors import ValidationFailed
from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.ingest import IngestReport, RowStatus
from restosync_http.dto.base import Dto
from restosync_http.dto.base import RawJsonDTO as RawJsonDTO  # the ingest routes name their DTO explicitly

VendorField = Annotated[
    str | None, Meta(description="optional; when present it must be the vendor the agent's token proves (else 403)")
]


MAX_OFFSET = timedelta(hours=16)
"""PostgreSQL stores offsets of up to 15:59 (RFC 3339 allows 23:59): a row's ``updatedAt`` stays within it."""


def check_offsets(rows: Sequence[ItemIn | StockIn | WarehouseIn], field: str) -> None:
    """400 naming the first row whose ``updatedAt`` has an offset PostgreSQL cannot store (beyond ±15:59)."""
    for index, row in enumerate(rows):
        offset = row.updated_at.utcoffset()
        if offset is not None and abs(offset) >= MAX_OFFSET:
            path = f"$.{field}[{index}].updatedAt"
            raise ValidationFailed(f"the UTC offset must be within ±15:59 at {path}", path=path)


class ItemsPush(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "items": [{
            "sku": "SKU-1", "name": "Tomatoes 6 kg", "unitCode": "KG", "vatCode": "TVA20", "price": "18.50",
            "updatedAt": "2026-01-15T09:30:00+01:00", "familyCode": "VEG", "active": True,
        }],
    }

    items: list[ItemIn]
    vendor_id: VendorField = None

    def check(self) -> None:
        check_offsets(self.items, "items")

    def to_items(self) -> list[Item]:
        """The core's rows, built by msgspec in C (same field names; price text -> Decimal)."""
        return msgspec.convert(self.items, list[Item], from_attributes=True)


class StockPush(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "stock": [{"sku": "SKU-1", "warehouseId": "WH-1", "quantity": "42", "updatedAt": "2026-01-15T09:30:00Z"}],
    }

    stock: list[StockIn]
    vendor_id: VendorField = None

    def check(self) -> None:
        check_offsets(self.stock, "stock")

    def to_levels(self) -> list[StockLevel]:
        return msgspec.convert(self.stock, list[StockLevel], from_attributes=True)


class WarehousesPush(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "warehouses": [{"warehouseId": "WH-1", "name": "Main", "updatedAt": "2026-01-15T09:30:00Z",
                        "address": "1 rue du Port, Marseille"}],
    }

    warehouses: list[WarehouseIn]
    vendor_id: VendorField = None

    def check(self) -> None:
        check_offsets(self.warehouses, "warehouses")

    def to_warehouses(self) -> list[Warehouse]:
        return msgspec.convert(self.warehouses, list[Warehouse], from_attributes=True)


# ---------------------------------------------------------------- answers

class ItemResult(Dto, omit_defaults=True, gc=False):
    sku: str
    status: RowStatus
    reason: str | None = None


class StockResult(Dto, omit_defaults=True, gc=False):
    sku: str
    warehouse_id: str
    status: RowStatus
    reason: str | None = None


class WarehouseResult(Dto, omit_defaults=True, gc=False):
    warehouse_id: str
    status: RowStatus
    reason: str | None = None


R = TypeVar("R")


class IngestResponse(Dto, Generic[R]):
    """Counts, then one result per input row in input order."""

    processed: int
    skipped: int
    failed: int
    results: list[R]


_PROCESSED = RowStatus.PROCESSED


def item_response(rows: Sequence[ItemIn], report: IngestReport) -> IngestResponse[ItemResult]:
    results = [
        ItemResult(sku=row.sku, status=_PROCESSED) if reason is None
        else ItemResult(sku=row.sku, status=reason.status, reason=reason.value)
        for row, reason in zip(rows, report.reasons, strict=True)
    ]
    return _response(results, report)


def stock_response(rows: Sequence[StockIn], report: IngestReport) -> IngestResponse[StockResult]:
    results = [
        StockResult(sku=row.sku, warehouse_id=row.warehouse_id, status=_PROCESSED) if reason is None
        else StockResult(sku=row.sku, warehouse_id=row.warehouse_id, status=reason.status, reason=reason.value)
        for row, reason in zip(rows, report.reasons, strict=True)
    ]
    return _response(results, report)


def warehouse_response(rows: Sequence[WarehouseIn], report: IngestReport) -> IngestResponse[WarehouseResult]:
    results = [
        WarehouseResult(warehouse_id=row.warehouse_id, status=_PROCESSED) if reason is None
        else WarehouseResult(warehouse_id=row.warehouse_id, status=reason.status, reason=reason.value)
        for row, reason in zip(rows, report.reasons, strict=True)
    ]
    return _response(results, report)


def _response(results: list[R], report: IngestReport) -> IngestResponse[R]:
    return IngestResponse(processed=report.processed, skipped=report.skipped, failed=report.failed,
                          results=results)
