"""Ingesting stock levels and warehouses against fakes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from restosync_core.model.catalog import StockLevel
from restosync_core.model.ingest import RowReason
from tests.unit.ingest.helpers import V1, V2, World, at, item, level, run, warehouse


def _world_with_catalogue() -> World:
    world = World()
    run(world.items(V1, [item("A"), item("B")]))
    run(world.warehouses(V1, [warehouse("WH-1"), warehouse("WH-2")]))
    return world


def test_warehouses_are_written_then_unchanged_then_stale() -> None:
    world = World()
    assert run(world.warehouses(V1, [warehouse("WH-1", minutes=5)])).reasons == [None]
    assert run(world.warehouses(V1, [warehouse("WH-1", minutes=6)])).reasons == [RowReason.UNCHANGED]
    assert run(world.warehouses(V1, [warehouse("WH-1", minutes=1, name="old")])).reasons == [RowReason.STALE]
    assert world.stored_warehouses()[(V1, "WH-1")].write.warehouse.name == "Warehouse WH-1"


def test_stock_for_known_items_and_warehouses_is_written() -> None:
    world = _world_with_catalogue()
    report = run(world.stock(V1, [level("A", "WH-1", "5"), level("B", "WH-2", "-1.5")]))
    assert report.reasons == [None, None]
    assert world.stored_stock()[(V1, ("B", "WH-2"))].write.level.quantity == level("B", "WH-2", "-1.5").quantity


def test_stock_for_an_unknown_item_or_warehouse_fails_that_row_only() -> None:
    world = _world_with_catalogue()
    report = run(world.stock(V1, [level("A", "WH-9"), level("Z", "WH-1"), level("Z", "WH-9"), level("B", "WH-1")]))
    assert report.reasons == [RowReason.UNKNOWN_WAREHOUSE, RowReason.UNKNOWN_ITEM, RowReason.UNKNOWN_ITEM, None]
    assert set(world.stored_stock()) == {(V1, ("B", "WH-1"))}


def test_stock_of_another_vendors_item_is_unknown() -> None:
    world = _world_with_catalogue()
    run(world.warehouses(V2, [warehouse("WH-1")]))
    report = run(world.stock(V2, [StockLevel("A", "WH-1", level().quantity, at(0))]))
    assert report.reasons == [RowReason.UNKNOWN_ITEM]


def test_stock_unchanged_stale_and_duplicates() -> None:
    world = _world_with_catalogue()
    run(world.stock(V1, [level("A", "WH-1", "5", minutes=10)]))
    report = run(world.stock(V1, [
        level("A", "WH-1", "5.000", minutes=11),  # same quantity written differently
        level("A", "WH-2", "1"), level("A", "WH-2", "2"),
        level("A", "WH-1", "7", minutes=3),  # last for its key, and older than stored
    ]))
    assert report.reasons == [RowReason.DUPLICATE_IN_REQUEST, RowReason.DUPLICATE_IN_REQUEST, None,
                              RowReason.STALE]
    assert world.stored_stock()[(V1, ("A", "WH-2"))].write.level.quantity == level(quantity="2").quantity


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "Z"]), st.sampled_from(["WH-1", "WH-9"]),
                          st.sampled_from(["1", "2"]), st.integers(0, 3)), max_size=12))
def test_for_any_stock_push_results_match_rows_and_only_processed_rows_are_written(rows) -> None:  # type: ignore[no-untyped-def]
    world = _world_with_catalogue()
    run(world.stock(V1, [level("A", "WH-1", "1", minutes=1)]))
    before = world.stored_stock()
    push = [level(sku, code, qty, minutes=m) for sku, code, qty, m in rows]
    report = run(world.stock(V1, push))
    assert len(report.reasons) == len(push)
    assert report.processed + report.skipped + report.failed == len(push)
    after = world.stored_stock()
    changed = {key for key in after if before.get(key) != after[key]}
    assert changed == {(V1, (push[i].sku, push[i].warehouse_id)) for i, r in enumerate(report.reasons) if r is None}
