"""What agents push: items, stock levels and warehouses, as the ERP describes them.

The vendor is not part of a row: it is the request's, the one the agent's token proves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Item:
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
    sku: str
    warehouse_id: str
    """The ERP's warehouse code."""
    quantity: Decimal
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Warehouse:
    warehouse_id: str
    """The ERP's warehouse code."""
    name: str
    address: str | None
    active: bool
    updated_at: datetime
