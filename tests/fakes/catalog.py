"""In-memory fakes of the catalogue ports: items, stock, warehouses, and a mapping resolver.

The tables live in ``FakeDatabase`` (so ``FakeUnitOfWork`` commits or rolls them
back) as ``{(vendor, key): StoredRow}``. The upserts apply the same guard as
the SQL: a stored row is replaced only when its hash differs and its
``updatedAt`` is not newer. Hooks let a test act between a use case's read and
its write (``before_upsert``) or make a chunk fail (``fail_on_chunk``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import StoredVersion
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.ports.catalog import ItemWrite, StockKey, StockTarget, StockWrite, WarehouseWrite
from restosync_core.ports.mappings import CodeKey
from tests.fakes import FakeDatabase

ITEMS, STOCK, WAREHOUSES = "items", "stock", "warehouses"
DEACTIVATED = "deactivated"
"""The content hash of a deactivated row (as in SQL): no real hash equals it, so a re-push is written."""


@dataclass(frozen=True)
class StoredRow:
    """One row of a fake catalogue table: the write that put it there, its id and sync time."""

    id: UUID
    write: Any
    content_hash: str
    updated_at: datetime
    last_synced_at: datetime
    deactivated_at: datetime | None = None
    """Set by reconciliation when the ERP no longer has the row (its hash is then ``DEACTIVATED``)."""

    @property
    def version(self) -> StoredVersion:
        return StoredVersion(self.content_hash, self.updated_at)


@dataclass
class CatalogHooks:
    """Shared by every fake repository of one ``FakeDatabase`` (kept outside its tables)."""

    before_upsert: Callable[[], Awaitable[None]] | None = None
    fail_on_chunk: int | None = None
    """Raise ``DependencyUnavailable`` on this upsert call (1-based, counted across tables)."""
    upsert_calls: int = 0
    """Writing statements (one per ``upsert`` chunk)."""
    chunk_sizes: list[int] = field(default_factory=list)
    reads: int = 0
    """``stored_versions`` / ``targets`` calls: reading statements."""
    read_keys: list[list[Any]] = field(default_factory=list)
    """The keys of each ``stored_versions`` call."""


def hooks_of(db: FakeDatabase) -> CatalogHooks:
    """The database's hooks, kept as an attribute so a rollback does not reset them."""
    hooks: CatalogHooks | None = getattr(db, "catalog_hooks", None)
    if hooks is None:
        hooks = CatalogHooks()
        db.catalog_hooks = hooks  # type: ignore[attr-defined]
    return hooks


def table(db: FakeDatabase, name: str) -> dict[tuple[VendorId, Any], StoredRow]:
    rows: dict[tuple[VendorId, Any], StoredRow] = db.table(name)
    return rows


def _guard_allows(current: StoredRow | None, content_hash: str, updated_at: datetime) -> bool:
    return current is None or (current.content_hash != content_hash and current.updated_at <= updated_at)


class _FakeTable:
    name: str

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.hooks = hooks_of(db)

    async def _start_upsert(self, rows: Sequence[Any]) -> None:
        """Called once per chunk, as the real adapter runs one statement per chunk."""
        self.hooks.upsert_calls += 1
        self.hooks.chunk_sizes.append(len(rows))
        if self.hooks.before_upsert is not None:
            hook, self.hooks.before_upsert = self.hooks.before_upsert, None
            await hook()
        if self.hooks.fail_on_chunk == self.hooks.upsert_calls:
            raise DependencyUnavailable("the database is unavailable")

    def _read(self, vendor_id: VendorId, keys: Iterable[Any]) -> dict[Any, StoredVersion]:
        keys = list(keys)
        self.hooks.reads += 1
        self.hooks.read_keys.append(keys)
        return self._versions(vendor_id, keys)

    def _versions(self, vendor_id: VendorId, keys: Iterable[Any]) -> dict[Any, StoredVersion]:
        rows = table(self.db, self.name)
        return {key: rows[(vendor_id, key)].version for key in keys if (vendor_id, key) in rows}

    def _put(self, vendor_id: VendorId, key: Any, write: Any, content_hash: str, updated_at: datetime,
             synced_at: datetime) -> bool:
        rows = table(self.db, self.name)
        current = rows.get((vendor_id, key))
        if not _guard_allows(current, content_hash, updated_at):
            return False
        row_id = current.id if current else uuid.uuid4()
        rows[(vendor_id, key)] = StoredRow(row_id, write, content_hash, updated_at, synced_at)
        return True


class FakeItemRepository(_FakeTable):
    name = ITEMS

    async def stored_versions(self, vendor_id: VendorId, skus: Sequence[str]) -> dict[str, StoredVersion]:
        return self._read(vendor_id, skus)

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[ItemWrite]], synced_at: datetime
    ) -> set[str]:
        written = set()
        for rows in chunks:
            await self._start_upsert(rows)
            written |= {
                w.item.sku for w in rows
                if self._put(vendor_id, w.item.sku, w, w.content_hash, w.item.updated_at, synced_at)
            }
        return written


class FakeWarehouseRepository(_FakeTable):
    name = WAREHOUSES

    async def stored_versions(
        self, vendor_id: VendorId, warehouse_ids: Sequence[str]
    ) -> dict[str, StoredVersion]:
        return self._read(vendor_id, warehouse_ids)

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[WarehouseWrite]], synced_at: datetime
    ) -> set[str]:
        written = set()
        for rows in chunks:
            await self._start_upsert(rows)
            written |= {
                w.warehouse.warehouse_id for w in rows
                if self._put(vendor_id, w.warehouse.warehouse_id, w, w.content_hash, w.warehouse.updated_at,
                             synced_at)
            }
        return written


class FakeStockRepository(_FakeTable):
    name = STOCK

    async def targets(self, vendor_id: VendorId, keys: Sequence[StockKey]) -> dict[StockKey, StockTarget]:
        self.hooks.reads += 1
        items, warehouses, stock = (table(self.db, n) for n in (ITEMS, WAREHOUSES, STOCK))
        answer = {}
        for sku, code in keys:
            item, warehouse = items.get((vendor_id, sku)), warehouses.get((vendor_id, code))
            stored = stock.get((vendor_id, (sku, code))) if item and warehouse else None
            answer[(sku, code)] = StockTarget(
                item.id if item else None, warehouse.id if warehouse else None,
                stored.version if stored else None,
            )
        return answer

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[StockWrite]], synced_at: datetime
    ) -> set[StockKey]:
        written = set()
        for rows in chunks:
            await self._start_upsert(rows)
            written |= {
                (w.level.sku, w.level.warehouse_id) for w in rows
                if self._put(vendor_id, (w.level.sku, w.level.warehouse_id), w, w.content_hash,
                             w.level.updated_at, synced_at)
            }
        return written


def bind_catalog_repositories(uow: Any) -> None:
    uow.items = FakeItemRepository(uow.db)
    uow.stock = FakeStockRepository(uow.db)
    uow.warehouses = FakeWarehouseRepository(uow.db)


class FakeMappingResolver:
    """``{(vendor, type, erp code): resto code}``; counts calls so tests can see one call per request."""

    def __init__(self, mappings: dict[tuple[str, MappingType, str], str] | None = None) -> None:
        self.mappings = dict(mappings or {})
        self.calls = 0

    def add(self, vendor_id: str, mapping_type: MappingType, erp_code: str, resto_code: str) -> None:
        self.mappings[(vendor_id, mapping_type, erp_code)] = resto_code

    async def resolve(self, vendor_id: VendorId, mapping_type: MappingType, erp_code: str) -> MappingResult | None:
        code = self.mappings.get((vendor_id, mapping_type, erp_code))
        return MappingResult(resto_code=code, resto_label=None) if code is not None else None

    async def resolve_many(self, vendor_id: VendorId, keys: Iterable[CodeKey]) -> dict[CodeKey, MappingResult | None]:
        self.calls += 1
        return {key: await self.resolve(vendor_id, *key) for key in set(keys)}
