"""The reconciliation engine against fakes: it converges, records every repair, and respects its limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restosync_core.model.reconciliation import (
    ReconciledEntity,
    ReconciliationEventType,
    RepairAction,
    RunScope,
    RunStatus,
)
from restosync_core.policies.content_hash import item_hash, stock_hash
from restosync_core.policies.reconciliation import WHOLE, BlastRadius, SearchLimits
from tests.erp_simulator import ErpSimulator, make_item, make_stock
from tests.fakes.catalog import ITEMS, STOCK, table
from tests.unit.reconciliation.world import World, run

SMALL_STEPS = SearchLimits(leaf_rows=2, max_parts=4)
"""Tiny leaves and few children per call: every run descends several levels."""

drift_ops = st.lists(
    st.tuples(
        st.sampled_from(["price", "name", "inactive", "drop_item", "add_item", "qty", "drop_stock", "add_stock"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=25,
)


def apply_drift(erp: ErpSimulator, ops: list[tuple[str, int]]) -> None:
    """Change the ERP behind the database's back (what lost pushes look like)."""
    for op, n in ops:
        items = sorted(erp.items, key=lambda i: i.sku)
        stock = sorted(erp.stock, key=lambda s: (s.sku, s.warehouse_id))
        if op == "add_item":
            erp.put_item(make_item(f"NEW-{n}", price=Decimal(n % 97) + Decimal("0.25")))
        elif op == "add_stock" and items:
            erp.put_stock(make_stock(items[n % len(items)].sku, "WH-2" if n % 2 else "WH-1", Decimal(n % 50)))
        elif op in ("price", "name", "inactive", "drop_item") and items:
            target = items[n % len(items)]
            if op == "price":
                erp.change_item(target.sku, price=target.price + Decimal("0.01"))
            elif op == "name":
                erp.change_item(target.sku, name=f"renamed {n}")
            elif op == "inactive":
                erp.change_item(target.sku, active=not target.active)
            else:  # an ERP deletes an article with its stock levels
                erp.remove_item(target.sku)
                for level in stock:
                    if level.sku == target.sku:
                        erp.remove_stock(level.sku, level.warehouse_id)
        elif op in ("qty", "drop_stock") and stock:
            target_level = stock[n % len(stock)]
            if op == "qty":
                erp.change_stock(target_level.sku, target_level.warehouse_id, target_level.quantity + 1)
            else:
                erp.remove_stock(target_level.sku, target_level.warehouse_id)


def live_rows(w: World) -> dict[tuple[str, tuple[str, ...]], str]:
    out: dict[tuple[str, tuple[str, ...]], str] = {}
    for (vendor, key), row in table(w.db, ITEMS).items():
        if vendor == w.vendor and row.deactivated_at is None:
            out[("items", (key,))] = row.content_hash
    for (vendor, key), row in table(w.db, STOCK).items():
        if vendor == w.vendor and row.deactivated_at is None:
            out[("stock", tuple(key))] = row.content_hash
    return out


def erp_rows(erp: ErpSimulator) -> dict[tuple[str, tuple[str, ...]], str]:
    out = {("items", (i.sku,)): item_hash(i) for i in erp.items}
    out.update({("stock", (s.sku, s.warehouse_id)): stock_hash(s) for s in erp.stock})
    return out


def drifted(w: World) -> set[tuple[str, tuple[str, ...]]]:
    ours, theirs = live_rows(w), erp_rows(w.erp)
    return {k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)}


def repaired_in_events(w: World, run_id: Any) -> set[tuple[str, tuple[str, ...]]]:
    events = [e for e in w.db.table("reconciliation_events").values() if e.run_id == run_id]
    keys = set()
    for e in events:
        if e.event_type is ReconciliationEventType.CONFLICT_RESOLVED:
            key = e.summary["key"]
            keys.add((e.entity, (key["sku"],) if e.entity == "items" else (key["sku"], key["warehouseId"])))
    return keys


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=0, max_value=40), ops=drift_ops, small=st.booleans())
def test_after_a_run_both_sides_agree_and_every_repair_is_an_event(n: int, ops: list[tuple[str, int]],
                                                                    small: bool) -> None:
    w = World(limits=SMALL_STEPS if small else SearchLimits())
    w.erp.fill(n, warehouses=("WH-1", "WH-2"))
    w.sync()
    apply_drift(w.erp, ops)
    expected = drifted(w)

    result = w.reconcile(confirm=True)

    assert result.status is RunStatus.COMPLETED, result.summary.reason
    assert w.in_sync()
    assert repaired_in_events(w, result.id) == expected
    assert result.summary.drift_found == len(expected) == result.summary.repaired
    # the database now holds the ERP's rows, byte for byte
    assert live_rows(w) == erp_rows(w.erp)


def test_stock_of_an_item_the_erp_no_longer_has_is_counted_failed_not_lost_nor_invented() -> None:
    """Found by hypothesis: stock for a SKU without an item cannot be stored (ingest refuses the row)."""
    w = World()
    w.erp.fill(3, warehouses=("WH-1",))
    w.sync(("WH-1",))
    w.erp.put_stock(make_stock("GHOST-1", "WH-1", Decimal(5)))

    result = w.reconcile(confirm=True)

    assert result.status is RunStatus.COMPLETED
    (stock,) = [e for e in result.summary.entities if e.entity is ReconciledEntity.STOCK]
    assert (stock.drift_found, stock.failed, stock.inserted) == (1, 1, 0)
    (sample,) = result.summary.samples
    assert sample["key"] == {"sku": "GHOST-1", "warehouseId": "WH-1"}
    assert (sample["outcome"], sample["reason"]) == ("failed", "unknown_item")
    assert not w.in_sync()  # honestly so: the next run finds and reports it again


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=0, max_value=60), small=st.booleans())
def test_a_run_without_drift_changes_nothing_and_records_no_row_event(n: int, small: bool) -> None:
    w = World(limits=SMALL_STEPS if small else SearchLimits())
    w.erp.fill(n, warehouses=("WH-1",))
    w.sync(("WH-1",))
    before = w.catalogue()

    result = w.reconcile()

    assert result.status is RunStatus.COMPLETED
    assert w.catalogue() == before
    assert repaired_in_events(w, result.id) == set()
    events = [e for e in w.db.table("reconciliation_events").values() if e.run_id == result.id]
    assert [e.event_type for e in events] == [ReconciliationEventType.DRIFT_CHECK]
    # one checksum call per entity: the whole set agreed at once
    assert result.summary.agent_calls == 2
    assert result.summary.drift_found == 0


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=1, max_value=60), ops=drift_ops, share=st.sampled_from([0.01, 0.05, 0.2]),
       floor=st.integers(min_value=0, max_value=4))
def test_the_blast_radius_limit_is_never_exceeded(n: int, ops: list[tuple[str, int]], share: float,
                                                  floor: int) -> None:
    blast = BlastRadius(max_share=share, min_rows=floor)
    w = World(blast_radius=blast, limits=SMALL_STEPS)
    w.erp.fill(n, warehouses=("WH-1",))
    w.sync(("WH-1",))
    apply_drift(w.erp, [(op, k) for op, k in ops if op not in ("add_stock",)])
    before = w.catalogue()
    expected = drifted(w)

    result = w.reconcile()

    over = any(
        blast.exceeded(
            sum(1 for e, _ in expected if e == entity.value),
            max(s.database_rows, s.erp_rows),
        )
        for entity in ReconciledEntity
        for s in result.summary.entities
        if s.entity is entity
    )
    if over:
        assert result.status is RunStatus.STOPPED
        assert w.catalogue() == before, "a stopped run changed rows"
        assert [a.type.value for a in w.alerts.sent] == ["reconciliation_drift"]
    else:
        assert result.status is RunStatus.COMPLETED
        for s in result.summary.entities:
            assert s.repaired <= blast.limit(max(s.database_rows, s.erp_rows))
        assert w.alerts.sent == []


def test_a_stopped_run_runs_after_an_admins_confirm() -> None:
    w = World(blast_radius=BlastRadius(max_share=0.05, min_rows=2))
    w.erp.fill(40, warehouses=("WH-1",))
    w.sync(("WH-1",))
    for i in range(5):  # same counts on both sides: the search must go down to the rows to count them
        w.erp.change_item(f"SKU-{i:06d}", price=Decimal("0.5"))

    stopped = w.reconcile(RunScope.ITEMS)
    assert stopped.status is RunStatus.STOPPED
    assert "would change 5 of 40 items rows" in (stopped.summary.reason or "")
    assert "RECONCILIATION_MAX_CHANGE_SHARE" in (stopped.summary.reason or "")
    assert len(stopped.summary.samples) == 5
    assert not w.in_sync()
    alert = w.alerts.sent[0]
    assert alert.vendor_id == w.vendor and alert.details["runId"] == str(stopped.id)

    confirmed = w.reconcile(RunScope.ITEMS, confirm=True)
    assert confirmed.status is RunStatus.COMPLETED and confirmed.confirmed
    assert confirmed.summary.repaired == 5
    assert w.database_digest(ReconciledEntity.ITEMS).matches(w.erp_digest(ReconciledEntity.ITEMS))


def test_a_catalogue_the_agent_says_is_empty_stops_before_descending() -> None:
    w = World()
    w.erp.fill(300)
    w.sync(("WH-1",))
    for item in w.erp.items:
        w.erp.remove_item(item.sku)

    result = w.reconcile(RunScope.ITEMS)

    assert result.status is RunStatus.STOPPED
    assert "at least 300 of 300" in (result.summary.reason or "")
    assert result.summary.agent_calls == 1  # the counts alone told it


def test_repairs_name_the_fields_that_differed() -> None:
    w = World()
    w.erp.fill(20, warehouses=("WH-1",))
    w.sync(("WH-1",))
    w.erp.change_item("SKU-000004", price=Decimal("123.4"), name="Pommes")
    w.erp.change_stock("SKU-000002", "WH-1", Decimal("7"))
    w.erp.remove_item("SKU-000009")
    w.erp.put_item(make_item("EXTRA-1"))

    result = w.reconcile()

    events = {
        (e.entity, e.summary["key"]["sku"]): e.summary
        for e in w.db.table("reconciliation_events").values()
        if e.event_type is ReconciliationEventType.CONFLICT_RESOLVED
    }
    updated = events[("items", "SKU-000004")]
    assert updated["action"] == RepairAction.UPDATED.value
    assert {d["field"] for d in updated["differed"]} == {"name", "price"}
    assert {"field": "price", "database": w_price_before(w), "erp": "123.4"} in updated["differed"]
    assert events[("stock", "SKU-000002")]["differed"][0]["erp"] == "7"
    assert events[("items", "SKU-000009")]["action"] == "deactivated"
    assert events[("items", "EXTRA-1")]["action"] == "inserted"
    assert result.summary.entities[0].inserted == 1
    # the deactivated item stays, inactive, and is not part of the compared set any more
    row = table(w.db, ITEMS)[(w.vendor, "SKU-000009")]
    assert row.deactivated_at is not None and row.write.item.active is False
    assert w.in_sync()


def w_price_before(w: World) -> str:
    from tests.erp_simulator import ErpSimulator

    fresh = ErpSimulator()
    fresh.fill(20, warehouses=("WH-1",))
    from restosync_core.policies.content_hash import canonical_decimal

    return canonical_decimal(fresh.item("SKU-000004").price)


def test_a_deactivated_row_comes_back_when_the_erp_has_it_again() -> None:
    w = World()
    w.erp.fill(10)
    w.sync(("WH-1",))
    gone = w.erp.item("SKU-000003")
    w.erp.remove_item("SKU-000003")
    assert w.reconcile(RunScope.ITEMS).summary.entities[0].deactivated == 1

    w.erp.put_item(replace(gone, updated_at=gone.updated_at + timedelta(minutes=5)))
    report = run(w.ingest_items(w.vendor, [w.erp.item("SKU-000003")]))  # the agent pushes it again
    assert report.reasons == [None]
    row = table(w.db, ITEMS)[(w.vendor, "SKU-000003")]
    assert row.deactivated_at is None and row.write.item.active is True
    assert w.reconcile(RunScope.ITEMS).summary.drift_found == 0


def test_a_push_during_the_run_is_not_overwritten() -> None:
    w = World()
    w.erp.fill(30)
    w.sync(("WH-1",))
    old = w.erp.change_item("SKU-000007", price=Decimal("5"))  # the run will find this drift
    newer = replace(old, price=Decimal("6"), updated_at=old.updated_at + timedelta(minutes=1))
    gone_key = "SKU-000011"
    w.erp.remove_item(gone_key)

    async def push_meanwhile(kind: str, rng: Any) -> None:
        if kind == "rows" and w.agent.hook is not None:
            w.agent.hook = None
            w.clock.advance(seconds=1)
            await w.ingest_items(w.vendor, [newer])  # the agent pushes a newer change, mid-run
            restored = replace(w.erp.item("SKU-000000"), sku=gone_key, name="pushed back")
            await w.ingest_items(w.vendor, [replace(restored, updated_at=old.updated_at + timedelta(hours=1))])

    w.agent.hook = push_meanwhile
    result = w.reconcile(RunScope.ITEMS)

    assert result.status is RunStatus.COMPLETED
    stored = table(w.db, ITEMS)[(w.vendor, "SKU-000007")]
    assert stored.write.item.price == Decimal("6"), "the run's older view overwrote a newer push"
    assert table(w.db, ITEMS)[(w.vendor, gone_key)].deactivated_at is None, "deactivated a row pushed mid-run"
    assert result.summary.entities[0].left_to_newer_push == 2


def test_the_search_stays_within_a_few_calls_for_a_few_drifted_rows() -> None:
    w = World()
    w.erp.fill(5000)
    w.sync(("WH-1",))
    for i in range(0, 5000, 500):  # 10 rows drifted
        w.erp.change_item(f"SKU-{i:06d}", price=Decimal("0.01"))

    result = w.reconcile(RunScope.ITEMS)

    s = result.summary.entities[0]
    assert s.drift_found == s.repaired == 10
    assert s.agent_calls <= 21  # the whole set, then at most one split and one fetch per drifted row
    assert s.rows_compared < 200  # never the whole catalogue


def test_an_agent_row_outside_the_range_fails_the_run_and_changes_nothing() -> None:
    w = World()
    w.erp.fill(30)
    w.sync(("WH-1",))
    w.erp.change_item("SKU-000001", price=Decimal("3"))
    before = w.catalogue()
    w.agent.tamper = lambda kind, answer: [*answer, make_item("ZZZ-NOT-HERE")] if kind == "rows" else answer

    result = w.reconcile(RunScope.ITEMS)

    assert result.status is RunStatus.FAILED
    assert "does not hold it" in (result.summary.reason or "")
    assert w.catalogue() == before


def test_a_wrong_number_of_parts_fails_the_run() -> None:
    w = World()
    w.erp.fill(10)
    w.sync(("WH-1",))
    w.agent.tamper = lambda kind, answer: answer[:-1] if kind == "checksum" else answer

    result = w.reconcile(RunScope.ITEMS)

    assert result.status is RunStatus.FAILED
    assert "the agent answered 255" in (result.summary.reason or "")


def test_too_many_calls_fail_the_run_without_changes() -> None:
    w = World(limits=SearchLimits(leaf_rows=1, max_parts=2, max_agent_calls=10))
    w.erp.fill(200)
    w.sync(("WH-1",))
    for i in range(0, 200, 10):
        w.erp.change_item(f"SKU-{i:06d}", price=Decimal("0.02"))
    before = w.catalogue()

    result = w.reconcile(RunScope.ITEMS)

    assert result.status is RunStatus.FAILED
    assert "RECONCILIATION_MAX_AGENT_CALLS" in (result.summary.reason or "")
    assert w.catalogue() == before


def test_unmapped_codes_fail_their_rows_only() -> None:
    w = World()
    w.erp.fill(10)
    w.sync(("WH-1",))
    w.erp.put_item(make_item("ODD-1", unit="BOX"))  # no mapping for BOX
    w.erp.put_item(make_item("FINE-1"))

    result = w.reconcile(RunScope.ITEMS)

    s = result.summary.entities[0]
    assert (s.drift_found, s.repaired, s.failed) == (2, 1, 1)
    assert result.summary.samples[0]["reason"] == "unmapped_unit"
    assert result.status is RunStatus.COMPLETED


def test_every_agent_call_carries_the_runs_correlation_id() -> None:
    w = World()
    w.erp.fill(10)
    w.sync(("WH-1",))
    w.erp.change_item("SKU-000001", price=Decimal("3"))
    result = w.reconcile()
    assert w.agent.correlation_ids == {result.correlation_id}


def test_the_whole_set_digest_compares_live_rows_only() -> None:
    w = World()
    w.erp.fill(12)
    w.sync(("WH-1",))
    w.erp.remove_item("SKU-000002")
    w.reconcile(RunScope.ITEMS)
    digest = run(w.digests.checksums(w.vendor, ReconciledEntity.ITEMS, WHOLE, 3))
    assert sum(d.count for d in digest) == 11


def test_a_confirmed_run_over_an_erp_that_lost_everything_deactivates_without_fetching() -> None:
    w = World()
    w.erp.fill(300)
    w.sync(("WH-1",))
    for item in w.erp.items:
        w.erp.remove_item(item.sku)

    result = w.reconcile(RunScope.ITEMS, confirm=True)

    s = result.summary.entities[0]
    assert result.status is RunStatus.COMPLETED
    assert (s.drift_found, s.deactivated) == (300, 300)
    assert s.agent_calls == 1  # the digests said the ERP has none: no rows to ask for
    assert w.in_sync()


def test_a_confirmed_first_run_fetches_what_only_the_erp_has_200_rows_a_call() -> None:
    w = World()
    w.erp.fill(3000)  # the agent never pushed: the database has nothing

    result = w.reconcile(RunScope.ITEMS, confirm=True)

    s = result.summary.entities[0]
    assert result.status is RunStatus.COMPLETED
    assert (s.drift_found, s.inserted) == (3000, 3000)
    assert s.agent_calls <= 1 + 3000 // 200 + 2  # the whole set, then adjacent ranges merged up to 200 rows
    assert w.in_sync()


def test_adjacent_one_sided_leaves_are_read_as_one_range() -> None:
    from restosync_core.policies.reconciliation import PositionRange, Side, merge_leaves

    limits = SearchLimits(leaf_rows=16, bulk_rows=100)
    leaves = [
        (PositionRange(20, 30), Side.THEIRS, 60),
        (PositionRange(0, 10), Side.THEIRS, 30),
        (PositionRange(10, 20), Side.THEIRS, 30),   # 0-30 together: 120 rows > 100, so 0-20 and 20-30
        (PositionRange(30, 40), Side.OURS, 0),
        (PositionRange(40, 50), Side.OURS, 0),      # ours-only: merged whatever their size
        (PositionRange(50, 60), Side.BOTH, 5),
        (PositionRange(60, 70), Side.BOTH, 5),      # both sides: never merged (leaf size holds)
        (PositionRange(80, 90), Side.OURS, 0),      # not adjacent to 40-50
    ]
    assert merge_leaves(leaves, limits) == [
        (PositionRange(0, 20), Side.THEIRS), (PositionRange(20, 30), Side.THEIRS),
        (PositionRange(30, 50), Side.OURS), (PositionRange(50, 60), Side.BOTH),
        (PositionRange(60, 70), Side.BOTH), (PositionRange(80, 90), Side.OURS),
    ]
