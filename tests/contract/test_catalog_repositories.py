"""Contract of the catalogue repositories (``uow.items``, ``uow.warehouses``, ``uow.stock``).

An upsert writes a row that is new, or whose hash differs and whose ``updatedAt``
is not older than the stored one; it answers the keys it wrote, whether its
chunks came as a list or as a lazy iterator.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import StoredVersion
from restosync_core.ports.catalog import ItemCodes, ItemWrite, StockWrite, WarehouseWrite
from tests.contract.conftest import T0, Store

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")
CODES = ItemCodes("kilogram", "vat-21", None, None)


def item_write(sku: str, content_hash: str, at_s: int = 0) -> ItemWrite:
    item = Item(sku, f"Item {sku}", None, "KG", "21", None, None, Decimal("1.50"), None, True,
                T0 + timedelta(seconds=at_s))
    return ItemWrite(item, content_hash, CODES)


def warehouse_write(code: str, content_hash: str, at_s: int = 0) -> WarehouseWrite:
    return WarehouseWrite(Warehouse(code, f"Warehouse {code}", None, True, T0 + timedelta(seconds=at_s)), content_hash)


def lazily(chunks: Sequence[Sequence[ItemWrite]]) -> Iterator[Sequence[ItemWrite]]:
    yield from chunks


@pytest.mark.parametrize("form", ["list", "iterator"])
async def test_new_items_are_written_in_every_chunk_and_their_versions_read_back(store: Store, form: str) -> None:
    chunks = [[item_write("A", "h-a"), item_write("B", "h-b")], [item_write("C", "h-c", at_s=5)]]

    async with store.uow() as uow:
        written = await uow.items.upsert(V1, chunks if form == "list" else lazily(chunks), T0)
        versions = await uow.items.stored_versions(V1, ["A", "C", "missing"])
        other_vendor = await uow.items.stored_versions(V2, ["A"])

    assert written == {"A", "B", "C"}
    assert versions == {"A": StoredVersion("h-a", T0), "C": StoredVersion("h-c", T0 + timedelta(seconds=5))}
    assert other_vendor == {}


async def test_an_item_is_overwritten_only_by_a_different_row_that_is_not_older(store: Store) -> None:
    async with store.uow() as uow:
        await uow.items.upsert(V1, [[item_write(s, "h1", at_s=10) for s in ("NEWER", "OLDER", "SAME", "TIE")]], T0)

    async with store.uow() as uow:
        written = await uow.items.upsert(V1, [[
            item_write("NEWER", "h2", at_s=20),
            item_write("OLDER", "h2", at_s=5),
            item_write("SAME", "h1", at_s=20),
            item_write("TIE", "h2", at_s=10),
        ]], T0)
        versions = await uow.items.stored_versions(V1, ["NEWER", "OLDER", "SAME", "TIE"])

    assert written == {"NEWER", "TIE"}
    assert versions == {
        "NEWER": StoredVersion("h2", T0 + timedelta(seconds=20)),
        "OLDER": StoredVersion("h1", T0 + timedelta(seconds=10)),
        "SAME": StoredVersion("h1", T0 + timedelta(seconds=10)),
        "TIE": StoredVersion("h2", T0 + timedelta(seconds=10)),
    }


async def test_empty_reads_and_writes_answer_nothing(store: Store) -> None:
    async with store.uow() as uow:
        assert await uow.items.stored_versions(V1, []) == {}
        assert await uow.items.upsert(V1, [], T0) == set()
        assert await uow.warehouses.stored_versions(V1, []) == {}
        assert await uow.stock.targets(V1, []) == {}


async def test_warehouses_follow_the_same_guard_keyed_by_erp_code(store: Store) -> None:
    async with store.uow() as uow:
        first = await uow.warehouses.upsert(V1, [[warehouse_write("W1", "h1", 10), warehouse_write("W2", "h1", 10)]],
                                            T0)
    async with store.uow() as uow:
        second = await uow.warehouses.upsert(V1, [[warehouse_write("W1", "h2", 11), warehouse_write("W2", "h2", 9)]],
                                             T0)
        versions = await uow.warehouses.stored_versions(V1, ["W1", "W2", "W3"])

    assert (first, second) == ({"W1", "W2"}, {"W1"})
    assert versions == {
        "W1": StoredVersion("h2", T0 + timedelta(seconds=11)),
        "W2": StoredVersion("h1", T0 + timedelta(seconds=10)),
    }


async def test_stock_targets_name_the_vendors_item_and_warehouse_and_what_is_stored(store: Store) -> None:
    async with store.uow() as uow:
        await uow.items.upsert(V1, [[item_write("A", "h-a")]], T0)
        await uow.warehouses.upsert(V1, [[warehouse_write("W1", "h-w")]], T0)
        await uow.items.upsert(V2, [[item_write("B", "h-b")]], T0)
    async with store.uow() as uow:
        before = await uow.stock.targets(V1, [("A", "W1"), ("A", "W9"), ("B", "W1")])

    target = before[("A", "W1")]
    assert target.item_id is not None and target.warehouse_id is not None and target.stored is None
    assert (before[("A", "W9")].item_id, before[("A", "W9")].warehouse_id) == (target.item_id, None)
    assert before[("B", "W1")].item_id is None  # another vendor's item
    assert before[("B", "W1")].warehouse_id == target.warehouse_id

    level = StockLevel("A", "W1", Decimal("3.5"), T0 + timedelta(seconds=10))
    write = StockWrite(level, "h-s1", target.item_id, target.warehouse_id)
    async with store.uow() as uow:
        written = await uow.stock.upsert(V1, [[write]], T0)
        older = StockWrite(StockLevel("A", "W1", Decimal("1"), T0), "h-s0", target.item_id, target.warehouse_id)
        not_written = await uow.stock.upsert(V1, [[older]], T0)
        after = await uow.stock.targets(V1, [("A", "W1")])

    assert (written, not_written) == ({("A", "W1")}, set())
    assert after[("A", "W1")].stored == StoredVersion("h-s1", T0 + timedelta(seconds=10))

