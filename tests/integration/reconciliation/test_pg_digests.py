"""PgCatalogDigests against the real PostgreSQL: our side of the range checksums, rows and deactivation.

Rows are written through the ingest repositories (the same upserts a push uses),
so ``key_position`` is the one the ingest writes. The checksums must equal the
pure ``digest_parts`` over the same live rows for any rows and any range; rows
come back as the ERP described them (same content hash); a deactivation honours
``untouched_since`` and never deletes; a deactivated row leaves the checksums
until a push of it brings it back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.reconciliation import DEACTIVATED, PgCatalogDigests
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.ids import VendorId
from restosync_core.model.reconciliation import ReconciledEntity
from restosync_core.policies.content_hash import item_hash, stock_hash, warehouse_hash
from restosync_core.policies.reconciliation import (
    EMPTY,
    POSITION_SPACE,
    WHOLE,
    PositionRange,
    RangeDigest,
    digest_parts,
    position,
    row_key,
)
from restosync_core.ports.catalog import ItemCodes, ItemWrite, StockWrite, WarehouseWrite

ITEMS, STOCK = ReconciledEntity.ITEMS, ReconciledEntity.STOCK
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WAREHOUSES = ("WH-1", "WH-2")


def item(sku: str, price: str = "1.50", *, minute: int = 0, name: str | None = None) -> Item:
    return Item(sku, name or f"Item {sku}", None, "KG", "TVA20", "FRUIT", None, Decimal(price), "301234", True,
                T0 + timedelta(minutes=minute))


def level(sku: str, code: str, quantity: str = "5", *, minute: int = 0) -> StockLevel:
    return StockLevel(sku, code, Decimal(quantity), T0 + timedelta(minutes=minute))


async def put_items(pool: AsyncConnectionPool, vendor: VendorId, rows: Sequence[Item], synced_at: datetime) -> set[str]:
    writes = [
        ItemWrite(i, item_hash(i), ItemCodes(i.unit_code.lower(), i.vat_code.lower(), i.family_code, None))
        for i in sorted(rows, key=lambda i: i.sku)
    ]
    async with PgUnitOfWork(pool) as uow:
        return await uow.items.upsert(vendor, [writes], synced_at)


async def put_stock(
    pool: AsyncConnectionPool, vendor: VendorId, rows: Sequence[StockLevel], synced_at: datetime
) -> set[tuple[str, str]]:
    """The warehouses (created if missing), then the stock rows (their items must exist)."""
    houses = [WarehouseWrite(w, warehouse_hash(w)) for w in (Warehouse(c, c, None, True, T0) for c in WAREHOUSES)]
    rows = sorted(rows, key=lambda r: (r.sku, r.warehouse_id))
    async with PgUnitOfWork(pool) as uow:
        await uow.warehouses.upsert(vendor, [houses], T0)
        targets = await uow.stock.targets(vendor, [(r.sku, r.warehouse_id) for r in rows])
        writes = []
        for r in rows:
            t = targets[(r.sku, r.warehouse_id)]
            assert t.item_id is not None and t.warehouse_id is not None
            writes.append(StockWrite(r, stock_hash(r), t.item_id, t.warehouse_id))
        return await uow.stock.upsert(vendor, [writes], synced_at) if writes else set()


def expected(rng: PositionRange, parts: int, rows: Sequence[Item | StockLevel]) -> list[RangeDigest]:
    return digest_parts(
        rng, parts, ((position(r.sku), item_hash(r) if isinstance(r, Item) else stock_hash(r)) for r in rows)
    )


@pytest.fixture
async def pool(clean_db: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = make_pool(clean_db, max_size=4)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


def new_vendor() -> VendorId:
    return VendorId(f"v-{uuid.uuid4().hex[:8]}")


# ---------------------------------------------------------------- checksums equal the pure digests

skus = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1, max_size=10
)


@st.composite
def ranges(draw: st.DrawFn, positions: Sequence[int]) -> tuple[PositionRange, int]:
    """The whole set, a random range, or one bounded by rows' own positions (so edges are hit exactly)."""
    kind = draw(st.sampled_from(["whole", "random", "rows"]))
    if kind == "whole" or (kind == "rows" and len(positions) < 2):
        rng = WHOLE
    elif kind == "random":
        start = draw(st.integers(0, POSITION_SPACE - 1))
        rng = PositionRange(start, draw(st.integers(start + 1, POSITION_SPACE)))
    else:
        a, b = sorted(draw(st.lists(st.sampled_from(sorted(positions)), min_size=2, max_size=2, unique=True)))
        rng = PositionRange(a, b + draw(st.integers(0, 1)))
    parts = draw(st.integers(1, min(256, rng.width)) | st.just(min(256, rng.width)))
    return rng, parts


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), names=st.sets(skus, min_size=0, max_size=60), prices=st.lists(st.sampled_from(
    ["0", "1.5", "2.25", "18.5000", "1000000"]), min_size=60, max_size=60))
def test_checksums_equal_the_pure_digests_of_the_same_live_rows(
    clean_db: str, data: st.DataObject, names: set[str], prices: list[str]
) -> None:
    vendor = new_vendor()  # each example its own vendor: the database is not emptied between examples
    items = [item(sku, prices[i]) for i, sku in enumerate(sorted(names))]
    stock = [level(i.sku, code, str(n)) for n, i in enumerate(items) for code in WAREHOUSES[: 1 + n % 2]]
    gone = data.draw(st.sets(st.sampled_from(sorted(names))) if names else st.just(set()), label="deactivated")
    positions = [position(s) for s in names]
    checks = [data.draw(ranges(positions), label=f"range {n}") for n in range(4)]

    async def scenario() -> None:
        pool = make_pool(clean_db, max_size=2)
        await pool.open()
        try:
            digests = PgCatalogDigests(pool)
            await put_items(pool, vendor, items, T0)
            await put_stock(pool, vendor, stock, T0)
            await digests.checksums(new_vendor(), ITEMS, WHOLE, 4)  # another vendor: nothing
            done = await digests.deactivate(vendor, ITEMS, [(s,) for s in gone], untouched_since=T0 + timedelta(1),
                                            at=T0)
            assert done == {(s,) for s in gone}
            gone_stock = [(r.sku, r.warehouse_id) for r in stock if r.sku in gone]
            await digests.deactivate(vendor, STOCK, gone_stock, untouched_since=T0 + timedelta(1), at=T0)
            live_items = [i for i in items if i.sku not in gone]
            live_stock = [r for r in stock if r.sku not in gone]
            for rng, parts in checks:
                assert await digests.checksums(vendor, ITEMS, rng, parts) == expected(rng, parts, live_items)
                assert await digests.checksums(vendor, STOCK, rng, parts) == expected(rng, parts, live_stock)
        finally:
            await pool.close()

    asyncio.run(scenario())



@pytest.mark.anyio
async def test_the_protocol_vectors_come_out_of_postgresql(pool: AsyncConnectionPool) -> None:
    """SKU-1, SKU-2, CAFÉ-7 (positions 1975234806, 1900207198, 1002144340): children of the documented split."""
    vendor = new_vendor()
    rows = [item("SKU-1"), item("SKU-2"), item("CAFÉ-7")]
    await put_items(pool, vendor, rows, T0)
    digests = PgCatalogDigests(pool)
    four = await digests.checksums(vendor, ITEMS, WHOLE, 4)
    assert [d.count for d in four] == [1, 2, 0, 0]  # CAFÉ-7 in child 0, SKU-1 and SKU-2 in child 1
    assert four == expected(WHOLE, 4, rows)
    narrow = PositionRange(1900207198, 1975234807)  # SKU-2 at its start, SKU-1 at its last position
    two = await digests.checksums(vendor, ITEMS, narrow, 2)
    assert [d.count for d in two] == [1, 1] and two == expected(narrow, 2, rows)
    assert await digests.checksums(vendor, ITEMS, PositionRange(1900207199, 1975234806), 3) == [EMPTY] * 3


@pytest.mark.anyio
async def test_a_large_set_split_256_ways_matches_the_pure_digests(pool: AsyncConnectionPool) -> None:
    vendor = new_vendor()
    rows = [item(f"SKU-{n:06d}", f"{n % 97}.25") for n in range(3000)]
    await put_items(pool, vendor, rows, T0)
    digests = PgCatalogDigests(pool)
    assert await digests.checksums(vendor, ITEMS, WHOLE, 256) == expected(WHOLE, 256, rows)
    child = WHOLE.split(256)[17]
    assert await digests.checksums(vendor, ITEMS, child, 64) == expected(child, 64, rows)


# ---------------------------------------------------------------- rows round-trip


@pytest.mark.anyio
async def test_rows_come_back_as_the_erp_described_them_with_the_same_content_hash(pool: AsyncConnectionPool) -> None:
    vendor = new_vendor()
    rows = [
        item("SKU-1", "18.50"),
        Item("CAFÉ-7", "Café", "moulu, 250 g", "G", "TVA5.5", "EPICERIE", "CAFE", Decimal("0.0001"), None, False,
             T0 + timedelta(hours=3)),
        item("SKU-2", "1000000", minute=7),
    ]
    stock = [level("SKU-1", "WH-1", "12.000"), level("SKU-1", "WH-2", "-3.5"), level("CAFÉ-7", "WH-2", "0")]
    await put_items(pool, vendor, rows, T0)
    await put_stock(pool, vendor, stock, T0)
    digests = PgCatalogDigests(pool)

    got_items = await digests.rows(vendor, ITEMS, WHOLE)
    by_sku = {i.sku: (i, h) for i, h in got_items}
    assert by_sku == {i.sku: (i, item_hash(i)) for i in rows}
    assert all(item_hash(i) == h for i, h in got_items if isinstance(i, Item))
    got_stock = await digests.rows(vendor, STOCK, WHOLE)
    assert {(r, h) for r, h in got_stock} == {(r, stock_hash(r)) for r in stock}
    assert all(stock_hash(r) == h for r, h in got_stock if isinstance(r, StockLevel))

    only = PositionRange(position("SKU-1"), position("SKU-1") + 1)
    assert [r.sku for r, _ in await digests.rows(vendor, ITEMS, only)] == ["SKU-1"]
    assert {row_key(r) for r, _ in await digests.rows(vendor, STOCK, only)} == {
        ("SKU-1", "WH-1"), ("SKU-1", "WH-2")}
    assert await digests.rows(new_vendor(), ITEMS, WHOLE) == []


# ---------------------------------------------------------------- deactivation


def _table(url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


@pytest.mark.anyio
async def test_deactivate_honours_untouched_since_and_never_deletes(pool: AsyncConnectionPool, clean_db: str) -> None:
    vendor = new_vendor()
    run_started = T0 + timedelta(minutes=5)
    await put_items(pool, vendor, [item("OLD-A"), item("OLD-B")], T0)
    await put_items(pool, vendor, [item("PUSHED-MID-RUN")], run_started + timedelta(seconds=1))
    await put_items(pool, vendor, [item("PUSHED-AT-START")], run_started)
    await put_stock(pool, vendor, [level("OLD-A", "WH-1"), level("OLD-A", "WH-2")], T0)
    await put_stock(pool, vendor, [level("OLD-B", "WH-1")], run_started + timedelta(seconds=1))
    digests = PgCatalogDigests(pool)
    at = run_started + timedelta(minutes=1)

    done = await digests.deactivate(
        vendor, ITEMS, [("OLD-A",), ("PUSHED-MID-RUN",), ("PUSHED-AT-START",), ("NO-SUCH",)],
        untouched_since=run_started, at=at,
    )
    assert done == {("OLD-A",)}
    assert await digests.deactivate(vendor, ITEMS, [("OLD-A",)], untouched_since=at, at=at) == set(), "twice"
    done_stock = await digests.deactivate(
        vendor, STOCK, [("OLD-A", "WH-2"), ("OLD-B", "WH-1"), ("OLD-A", "WH-9")], untouched_since=run_started, at=at
    )
    assert done_stock == {("OLD-A", "WH-2")}
    assert await digests.deactivate(vendor, STOCK, [], untouched_since=at, at=at) == set()

    items = {r[0]: r[1:] for r in _table(
        clean_db, "SELECT sku, active, content_hash, deactivated_at FROM items WHERE vendor_id = %s", vendor)}
    assert items["OLD-A"] == (False, DEACTIVATED, at)
    assert items["OLD-B"] == (True, item_hash(item("OLD-B")), None)
    assert items["PUSHED-MID-RUN"][2] is None and items["PUSHED-AT-START"][2] is None
    assert len(items) == 4, "never deleted"
    stock = _table(clean_db, """
        SELECT i.sku, w.erp_warehouse_id, s.content_hash, s.deactivated_at FROM stock s
        JOIN items i ON i.id = s.item_id JOIN warehouses w ON w.id = s.warehouse_id WHERE s.vendor_id = %s
        ORDER BY 1, 2""", vendor)
    assert [(r[0], r[1], r[3]) for r in stock] == [
        ("OLD-A", "WH-1", None), ("OLD-A", "WH-2", at), ("OLD-B", "WH-1", None)]
    assert stock[1][2] == DEACTIVATED


@pytest.mark.anyio
async def test_a_deactivated_row_leaves_the_checksums_and_a_push_of_it_brings_it_back(
    pool: AsyncConnectionPool, clean_db: str
) -> None:
    vendor = new_vendor()
    rows = [item("A"), item("B"), item("C", minute=3)]
    await put_items(pool, vendor, rows, T0)
    await put_stock(pool, vendor, [level("C", "WH-1")], T0)
    digests = PgCatalogDigests(pool)
    await digests.deactivate(vendor, ITEMS, [("C",)], untouched_since=T0 + timedelta(1), at=T0 + timedelta(1))
    await digests.deactivate(vendor, STOCK, [("C", "WH-1")], untouched_since=T0 + timedelta(1), at=T0 + timedelta(1))
    assert await digests.checksums(vendor, ITEMS, WHOLE, 1) == expected(WHOLE, 1, rows[:2])
    assert await digests.checksums(vendor, STOCK, WHOLE, 1) == [EMPTY]
    assert [r.sku for r, _ in await digests.rows(vendor, ITEMS, WHOLE)] != [] and all(
        r.sku != "C" for r, _ in await digests.rows(vendor, ITEMS, WHOLE))
    assert await digests.rows(vendor, STOCK, WHOLE) == []

    # What the ingest use case reads: the sentinel hash, so the same row again is not "unchanged"...
    async with PgUnitOfWork(pool) as uow:
        stored = await uow.items.stored_versions(vendor, ["C"])
    assert stored["C"].content_hash == DEACTIVATED
    # ...and the guarded upsert writes it (same updatedAt: not older), reviving it.
    assert await put_items(pool, vendor, [item("C", minute=3)], T0 + timedelta(days=2)) == {"C"}
    assert await put_stock(pool, vendor, [level("C", "WH-1")], T0 + timedelta(days=2)) == {("C", "WH-1")}
    assert _table(clean_db, "SELECT active, deactivated_at FROM items WHERE vendor_id = %s AND sku = 'C'", vendor) == [
        (True, None)]
    assert await digests.checksums(vendor, ITEMS, WHOLE, 1) == expected(WHOLE, 1, rows)
    assert await digests.checksums(vendor, STOCK, WHOLE, 1) == expected(WHOLE, 1, [level("C", "WH-1")])
    # An older copy does not revive it: the guard is unchanged.
    await digests.deactivate(vendor, ITEMS, [("C",)], untouched_since=T0 + timedelta(days=3), at=T0 + timedelta(3))
    assert await put_items(pool, vendor, [item("C", "9", minute=1)], T0 + timedelta(days=4)) == set()


@pytest.mark.anyio
async def test_ingest_writes_key_position_for_items_and_stock(pool: AsyncConnectionPool, clean_db: str) -> None:
    vendor = new_vendor()
    await put_items(pool, vendor, [item("SKU-1"), item("CAFÉ-7")], T0)
    await put_stock(pool, vendor, [level("CAFÉ-7", "WH-1")], T0)
    assert dict(_table(clean_db, "SELECT sku, key_position FROM items WHERE vendor_id = %s", vendor)) == {
        "SKU-1": 1975234806, "CAFÉ-7": 1002144340}
    assert _table(clean_db, "SELECT key_position FROM stock WHERE vendor_id = %s", vendor) == [(1002144340,)]
