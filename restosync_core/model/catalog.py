"""What agents push: items, stock levels and warehouses, as the ERP describes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from restosync_core.model.ids import VendorId


@dataclass(frozen=True, slots=True)
class Item:
    vendor_id: VendorId
    sku: str
    name: str
    description: str | None
    unit_code: str
    vat_code: str
    family_code: str | None
    subfamily_code: str | None
    price: Decimal
    barcode: str | None
    active: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StockLevel:
    vendor_id: VendorId
    sku: str
    warehouse_id: str
    """The ERP's warehouse code."""
    quantity: Decimal
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Warehouse:
    vendor_id: VendorId
    warehouse_id: str
    """The ERP's warehouse code."""
    name: str
    address: str | None
    active: bool
    updated_at: datetime
