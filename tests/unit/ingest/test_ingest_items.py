"""Ingesting items against fakes: what is written, what is skipped or failed, and why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.catalog import Item
from restosync_core.model.ingest import RowReason, RowStatus
from restosync_core.policies.content_hash import item_hash
from tests.strategies import items
from tests.unit.ingest.helpers import V1, V2, World, item, run


def test_new_items_are_written_with_resolved_codes_and_the_sync_time() -> None:
    world = World()
    report = run(world.items(V1, [item("A"), item("B", family_code=None)]))
    assert report.reasons == [None, None]
    stored = world.stored_items()
    a = stored[(V1, "A")]
    assert a.write.codes.unit_code == "kilogram" and a.write.codes.vat_code == "vat-20"
    assert a.write.codes.family_code == "fruit"
    assert stored[(V1, "B")].write.codes.family_code is None
    assert {row.last_synced_at for row in stored.values()} == {world.clock.now()}
    assert a.content_hash == item_hash(item("A"))


def test_pushing_the_same_items_again_skips_them_all_as_unchanged() -> None:
    world = World()
    run(world.items(V1, [item("A"), item("B")]))
    before = world.stored_items()
    world.clock.advance(minutes=5)
    report = run(world.items(V1, [item("A", minutes=3), item("B", minutes=3)]))
    assert report.reasons == [RowReason.UNCHANGED, RowReason.UNCHANGED]
    assert (report.processed, report.skipped, report.failed) == (0, 2, 0)
    assert world.stored_items() == before  # last_synced_at untouched too


def test_an_older_update_is_stale_and_leaves_the_row_untouched() -> None:
    world = World()
    run(world.items(V1, [item("A", minutes=10, name="new")]))
    before = world.stored_items()
    report = run(world.items(V1, [item("A", minutes=5, name="old")]))
    assert report.reasons == [RowReason.STALE]
    assert world.stored_items() == before


def test_an_unmapped_unit_fails_that_row_and_the_others_are_written() -> None:
    world = World()
    report = run(world.items(V1, [item("A"), item("B", unit_code="BOX"), item("C", vat_code="NOVAT")]))
    assert report.reasons == [None, RowReason.UNMAPPED_UNIT, RowReason.UNMAPPED_VAT]
    assert [report.status_of(i) for i in range(3)] == [RowStatus.PROCESSED, RowStatus.FAILED, RowStatus.FAILED]
    assert set(world.stored_items()) == {(V1, "A")}


def test_an_unmapped_unit_is_reported_before_an_unmapped_vat() -> None:
    world = World()
    report = run(world.items(V1, [item("A", unit_code="BOX", vat_code="NOVAT")]))
    assert report.reasons == [RowReason.UNMAPPED_UNIT]


def test_codes_are_resolved_with_one_resolver_call_per_request() -> None:
    world = World()
    run(world.items(V1, [item(f"S{i}", unit_code="KG" if i % 2 else "BOX") for i in range(50)]))
    assert world.resolver.calls == 1


def test_a_duplicate_key_is_skipped_and_the_last_occurrence_is_written() -> None:
    world = World()
    report = run(world.items(V1, [item("A", name="first"), item("B"), item("A", name="last")]))
    assert report.reasons == [RowReason.DUPLICATE_IN_REQUEST, None, None]
    assert world.stored_items()[(V1, "A")].write.item.name == "last"


def test_vendors_do_not_see_each_others_rows() -> None:
    world = World()
    run(world.items(V1, [item("A")]))
    report = run(world.items(V2, [item("A")]))
    assert report.reasons == [None]
    assert set(world.stored_items()) == {(V1, "A"), (V2, "A")}


def test_chunks_respect_the_chunk_size_and_go_in_key_order() -> None:
    world = World(chunk_size=2)
    report = run(world.items(V1, [item(sku) for sku in ["E", "A", "D", "B", "C"]]))
    assert report.processed == 5
    assert world.hooks.chunk_sizes == [2, 2, 1]


def test_a_database_failure_on_a_later_chunk_writes_nothing_of_the_request() -> None:
    world = World(chunk_size=2)
    run(world.items(V1, [item("A", name="kept")]))
    world.hooks.fail_on_chunk = world.hooks.upsert_calls + 2
    with pytest.raises(DependencyUnavailable):
        run(world.items(V1, [item("A", name="changed", minutes=1), item("B"), item("C"), item("D")]))
    stored = world.stored_items()
    assert set(stored) == {(V1, "A")}
    assert stored[(V1, "A")].write.item.name == "kept"


def test_a_newer_row_stored_concurrently_between_read_and_write_stands_and_ours_is_stale() -> None:
    world = World()
    run(world.items(V1, [item("A", minutes=0, name="v0")]))

    async def concurrent_newer_push() -> None:
        # Another request stores a newer version after our read, before our upsert.
        other = World(db=world.db, clock=world.clock, resolver=world.resolver)
        assert (await other.items(V1, [item("A", minutes=20, name="v20")])).reasons == [None]

    world.hooks.before_upsert = concurrent_newer_push
    report = run(world.items(V1, [item("A", minutes=10, name="v10"), item("B")]))
    assert report.reasons == [RowReason.STALE, None]
    assert world.stored_items()[(V1, "A")].write.item.name == "v20"


def test_an_identical_row_stored_concurrently_makes_ours_unchanged() -> None:
    world = World()

    async def concurrent_identical_push() -> None:
        other = World(db=world.db, clock=world.clock, resolver=world.resolver)
        await other.items(V1, [item("A", minutes=20)])

    world.hooks.before_upsert = concurrent_identical_push
    report = run(world.items(V1, [item("A", minutes=10)]))
    assert report.reasons == [RowReason.UNCHANGED]


def test_an_empty_push_does_nothing() -> None:
    world = World()
    report = run(world.items(V1, []))
    assert report.reasons == [] and world.resolver.calls == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(items(), max_size=12), st.lists(items(), max_size=12))
def test_for_any_push_each_row_has_one_result_counts_add_up_and_only_processed_rows_are_written(
    earlier: list[Item], push: list[Item]
) -> None:
    world = World()
    run(world.items(V1, earlier))
    before = world.stored_items()
    world.clock.advance(minutes=1)

    report = run(world.items(V1, push))

    assert len(report.reasons) == len(push)
    assert report.processed + report.skipped + report.failed == len(push)
    after = world.stored_items()
    processed = {i for i, r in enumerate(report.reasons) if r is None}
    changed_keys = {key for key in after if before.get(key) != after[key]}
    assert changed_keys == {(V1, push[i].sku) for i in processed}
    for i in processed:
        row = after[(V1, push[i].sku)]
        assert row.write.item == push[i] and row.last_synced_at == world.clock.now()
    for i, reason in enumerate(report.reasons):
        if reason is RowReason.UNCHANGED:
            assert before[(V1, push[i].sku)].content_hash == item_hash(push[i])
        if reason is RowReason.STALE:
            assert before[(V1, push[i].sku)].updated_at > push[i].updated_at





def test_an_unchanged_re_push_costs_one_read_and_no_write() -> None:
    world = World()
    push = [item("A"), item("B"), item("C")]
    run(world.items(V1, push))
    hooks = world.hooks
    hooks.reads = hooks.upsert_calls = 0
    report = run(world.items(V1, push))
    assert report.reasons == [RowReason.UNCHANGED] * 3
    assert (hooks.reads, hooks.upsert_calls) == (1, 0)


def test_only_the_rows_the_guard_refused_are_read_again() -> None:
    """A concurrent newer push between our read and our write: that row alone is read again (stale);
    the unchanged and stale rows decided from the first read are not."""
    world = World()
    run(world.items(V1, [item("A", minutes=5), item("B", minutes=5), item("C", minutes=5)]))
    hooks = world.hooks
    reads_before_ours: list[int] = []

    async def newer_push_commits() -> None:
        other = World(db=world.db, clock=world.clock, resolver=world.resolver)
        assert (await other.items(V1, [item("C", minutes=30, name="newer")])).reasons == [None]
        reads_before_ours.append(hooks.reads)

    hooks.before_upsert = newer_push_commits
    push = [item("A", minutes=5), item("B", minutes=1, name="older"), item("C", minutes=10, name="mine")]
    report = run(world.items(V1, push))
    assert report.reasons == [RowReason.UNCHANGED, RowReason.STALE, RowReason.STALE]
    assert hooks.reads == reads_before_ours[0] + 1 and hooks.read_keys[-1] == ["C"]  # after our write
    assert world.stored_items()[(V1, "C")].write.item.name == "newer"
