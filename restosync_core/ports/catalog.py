"""Ports for the catalogue agents push: items, stock levels and warehouses.

Each repository lives inside a unit of work (``uow.items``, ``uow.stock``,
``uow.warehouses``) and never commits. ``stored_versions`` reads what is stored
for many keys in one query; ``upsert`` writes each chunk it is given in ONE
set-based statement whose ``DO UPDATE ... WHERE`` guard re-checks, on the
locked row, that the stored row is older and different: an overlapping push
can never let an older row overwrite a newer one. Rows arrive with distinct
keys, in key order, so concurrent pushes lock rows in the same order and
cannot deadlock.

``chunks`` is either a list (written statement after statement) or a lazy
iterator: then the adapter may pipeline, taking chunk n+1 from the iterator
(which hashes and decides it) while the database writes chunk n. Either way
every chunk is consumed before ``upsert`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import StoredVersion

StockKey = tuple[str, str]
"""(sku, ERP warehouse code): a stock row's key within a vendor."""


@dataclass(frozen=True, slots=True)
class ItemCodes:
    """RestoMarket's codes for an item's ERP codes (family and subfamily may be unmapped)."""

    unit_code: str
    vat_code: str
    family_code: str | None
    subfamily_code: str | None


@dataclass(frozen=True, slots=True)
class ItemWrite:
    item: Item
    content_hash: str
    codes: ItemCodes


@dataclass(frozen=True, slots=True)
class WarehouseWrite:
    warehouse: Warehouse
    content_hash: str


@dataclass(frozen=True, slots=True)
class StockWrite:
    level: StockLevel
    content_hash: str
    item_id: UUID
    warehouse_id: UUID


@dataclass(frozen=True, slots=True)
class StockTarget:
    """Where a stock row would go: its item and warehouse (None when unknown) and what is stored there."""

    item_id: UUID | None
    warehouse_id: UUID | None
    stored: StoredVersion | None


class ItemRepository(Protocol):
    async def stored_versions(self, vendor_id: VendorId, skus: Sequence[str]) -> dict[str, StoredVersion]:
        """The stored version of each of ``skus`` that exists, in one query."""
        ...

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[ItemWrite]], synced_at: datetime
    ) -> set[str]:
        """Insert or update each chunk (distinct skus, in sku order) in one statement; the skus written.

        A stored row is overwritten only when its hash differs and its
        ``updatedAt`` is not newer than the row's; ``last_synced_at`` becomes
        ``synced_at`` on every row written.
        """
        ...


class WarehouseRepository(Protocol):
    async def stored_versions(
        self, vendor_id: VendorId, warehouse_ids: Sequence[str]
    ) -> dict[str, StoredVersion]:
        """The stored version of each of the ERP warehouse codes that exists, in one query."""
        ...

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[WarehouseWrite]], synced_at: datetime
    ) -> set[str]:
        """As ``ItemRepository.upsert``, keyed by ERP warehouse code."""
        ...


class StockRepository(Protocol):
    async def targets(self, vendor_id: VendorId, keys: Sequence[StockKey]) -> dict[StockKey, StockTarget]:
        """For every key: the vendor's item and warehouse it names and the stock stored there, in one query."""
        ...

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[StockWrite]], synced_at: datetime
    ) -> set[StockKey]:
        """As ``ItemRepository.upsert``, keyed by (sku, warehouse code); rows are in that key order."""
        ...
