"""Building blocks for ingest unit tests: rows, a fake world and hypothesis strategies."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingType
from restosync_core.use_cases.ingest_items import IngestItems
from restosync_core.use_cases.ingest_stock import IngestStock
from restosync_core.use_cases.ingest_warehouses import IngestWarehouses
from tests.fakes import FakeClock, FakeDatabase
from tests.fakes.catalog import ITEMS, STOCK, WAREHOUSES, FakeMappingResolver, StoredRow, hooks_of, table
from tests.unit.services import UNIT_SETTINGS, unit_services

T = TypeVar("T")

V1 = VendorId("vendor-1")
V2 = VendorId("vendor-2")
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def item(sku: str = "SKU-1", *, minutes: int = 0, **changes: Any) -> Item:
    base = Item(
        sku=sku, name=f"Item {sku}", description=None, unit_code="KG", vat_code="TVA20",
        family_code="FRUIT", subfamily_code=None, price=Decimal("18.50"), barcode=None, active=True,
        updated_at=at(minutes),
    )
    return replace(base, **changes)


def warehouse(code: str = "WH-1", *, minutes: int = 0, **changes: Any) -> Warehouse:
    base = Warehouse(warehouse_id=code, name=f"Warehouse {code}", address=None, active=True,
                     updated_at=at(minutes))
    return replace(base, **changes)


def level(sku: str = "SKU-1", code: str = "WH-1", quantity: str = "5", *, minutes: int = 0) -> StockLevel:
    return StockLevel(sku=sku, warehouse_id=code, quantity=Decimal(quantity),
                      updated_at=at(minutes))


@dataclass
class World:
    """One fake database, clock and resolver, with the three use cases built on them."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    clock: FakeClock = field(default_factory=lambda: FakeClock(datetime(2026, 2, 1, 12, 0, tzinfo=UTC)))
    resolver: FakeMappingResolver = field(default_factory=FakeMappingResolver)
    chunk_size: int = 1000

    def __post_init__(self) -> None:
        for vendor in (V1, V2):
            self.resolver.add(vendor, MappingType.UNIT, "KG", "kilogram")
            self.resolver.add(vendor, MappingType.VAT, "TVA20", "vat-20")
            self.resolver.add(vendor, MappingType.FAMILY, "FRUIT", "fruit")
        settings = replace(UNIT_SETTINGS, ingest_chunk_size=self.chunk_size)
        services = unit_services(self.db, self.clock, settings, mapping_resolver=self.resolver)
        self.items: IngestItems = services.ingest_items
        self.stock: IngestStock = services.ingest_stock
        self.warehouses: IngestWarehouses = services.ingest_warehouses

    @property
    def hooks(self) -> Any:
        return hooks_of(self.db)

    def stored(self, name: str) -> dict[tuple[VendorId, Any], StoredRow]:
        return dict(table(self.db, name))

    def stored_items(self) -> dict[tuple[VendorId, Any], StoredRow]:
        return self.stored(ITEMS)

    def stored_stock(self) -> dict[tuple[VendorId, Any], StoredRow]:
        return self.stored(STOCK)

    def stored_warehouses(self) -> dict[tuple[VendorId, Any], StoredRow]:
        return self.stored(WAREHOUSES)

