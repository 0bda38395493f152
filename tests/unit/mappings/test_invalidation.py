"""Every write kind invalidates every process's cache, on its next lookup; Redis down is handled safely."""

from __future__ import annotations

import pytest

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.mappings import MappingChanges, MappingResult, MappingType
from tests.fakes.mappings import mapping_table
from tests.unit.mappings.helpers import KG, V1, V2, World, new, run


def warm(world: World, *processes: object) -> None:
    for p in processes:
        run(p.resolver.resolve_many(V1, [KG]))  # type: ignore[attr-defined]


def test_a_create_is_seen_by_every_process_that_cached_not_found() -> None:
    world = World()
    api, worker = world.process(), world.process()
    warm(world, api, worker)
    assert run(worker.resolver.resolve(V1, MappingType.UNIT, "KG")) is None  # cached None
    run(world.services().create_mapping(new("KG", "kilogram")))
    assert run(api.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kilogram", "Kilogramme")
    assert run(worker.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kilogram", "Kilogramme")


def test_an_update_is_seen_by_another_process_on_its_next_lookup() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    api, worker = world.process(), world.process()
    warm(world, api, worker)
    run(world.services().update_mapping(created.id, MappingChanges(resto_code="kg-2", resto_label="Kilo")))
    assert run(worker.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kg-2", "Kilo")


def test_an_update_that_moves_a_mapping_to_another_vendor_invalidates_both_vendors() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    p = world.process()
    warm(world, p)
    assert run(p.resolver.resolve(V2, MappingType.UNIT, "KG")) is None
    run(world.services().update_mapping(created.id, MappingChanges(vendor_id=V2)))
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) is None
    assert run(p.resolver.resolve(V2, MappingType.UNIT, "KG")) == MappingResult("kilogram", "Kilogramme")


def test_a_delete_is_seen_by_another_process_on_its_next_lookup() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    api, worker = world.process(), world.process()
    warm(world, api, worker)
    run(world.services().delete_mapping(created.id))
    assert run(worker.resolver.resolve(V1, MappingType.UNIT, "KG")) is None


def test_a_seed_is_seen_by_another_process_on_its_next_lookup() -> None:
    world = World()
    run(world.services().create_mapping(new("KG", "kilogram")))
    worker = world.process()
    warm(world, worker)
    run(world.services().seed_mappings([new("KG", "kg-seeded"), new("L", "litre")]))
    answers = run(worker.resolver.resolve_many(V1, [KG, (MappingType.UNIT, "L")]))
    assert answers == {
        KG: MappingResult("kg-seeded", "Kilogramme"),
        (MappingType.UNIT, "L"): MappingResult("litre", "Kilogramme"),
    }


def test_a_write_for_one_vendor_leaves_other_vendors_caches_warm() -> None:
    world = World()
    run(world.services().seed_mappings([new("KG", vendor=V1), new("KG", vendor=V2)]))
    p = world.process()
    run(p.resolver.resolve_many(V1, [KG]))
    run(p.resolver.resolve_many(V2, [KG]))
    run(world.services().create_mapping(new("L", "litre", vendor=V1)))
    queries = p.queries
    run(p.resolver.resolve_many(V2, [KG]))
    assert p.queries == queries
    run(p.resolver.resolve_many(V1, [KG]))
    assert p.queries == queries + 1


def test_a_write_changes_the_generation_before_and_after_its_commit() -> None:
    world = World()
    run(world.services().create_mapping(new()))
    assert world.redis.invalidations == [frozenset({V1}), frozenset({V1})]


def test_with_redis_down_a_write_fails_closed_and_writes_nothing() -> None:
    world = World()
    world.redis.down = True
    with pytest.raises(DependencyUnavailable):
        run(world.services().create_mapping(new()))
    with pytest.raises(DependencyUnavailable):
        run(world.services().seed_mappings([new("A"), new("B")]))
    assert mapping_table(world.db) == {}


def test_with_redis_down_resolve_answers_from_the_database_without_using_the_cache() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    p = world.process()
    warm(world, p)
    world.redis.down = True
    # The change below cannot be announced (Redis is down), so only the database knows it.
    from dataclasses import replace

    mapping_table(world.db)[created.id] = replace(mapping_table(world.db)[created.id], resto_code="kg-2")
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kg-2", "Kilogramme")
    assert len(p.resolver.cache) == 0  # dropped: it cannot be trusted any more
    queries = p.queries
    run(p.resolver.resolve_many(V1, [KG]))
    run(p.resolver.resolve_many(V1, [KG]))
    assert p.queries == queries + 2  # every call reads the database, once
    assert len(p.resolver.cache) == 0


def test_while_redis_is_down_it_is_retried_only_after_the_retry_interval() -> None:
    world = World()
    p = world.process(redis_retry_seconds=1.0)
    world.redis.down = True
    run(p.resolver.resolve_many(V1, [KG]))
    world.redis.down = False
    reads = world.redis.reads
    run(p.resolver.resolve_many(V1, [KG]))  # still inside the retry interval: no Redis call
    assert world.redis.reads == reads
    world.clock.advance(seconds=1)
    run(p.resolver.resolve_many(V1, [KG]))
    run(p.resolver.resolve_many(V1, [KG]))
    assert world.redis.reads == reads + 2
    assert p.queries == 3  # two bypassed calls, then one miss, then a hit


def test_with_the_database_down_resolve_raises_dependency_unavailable() -> None:
    world = World()
    p = world.process()
    p.lookup.down = True
    with pytest.raises(DependencyUnavailable):
        run(p.resolver.resolve(V1, MappingType.UNIT, "KG"))


def test_a_failed_post_commit_invalidation_keeps_the_write_and_the_pre_commit_one_still_reached_everyone() -> None:
    world = World()
    p = world.process()
    warm(world, p)

    class FailsSecondTime:
        calls = 0

        async def generation_of(self, vendor_id: str) -> str:
            return await world.redis.generation_of(vendor_id)  # type: ignore[arg-type]

        async def invalidate(self, vendor_ids: object) -> None:
            FailsSecondTime.calls += 1
            if FailsSecondTime.calls == 2:
                raise DependencyUnavailable("Redis went away")
            await world.redis.invalidate(vendor_ids)  # type: ignore[arg-type]

    created = run(world.services(mapping_invalidation=FailsSecondTime()).create_mapping(new("KG", "kilogram")))
    assert mapping_table(world.db)[created.id].resto_code == "kilogram"
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kilogram", "Kilogramme")


def test_a_redis_restart_that_forgets_generations_never_revives_entries_cached_before_a_write() -> None:
    world = World()
    p = world.process()
    warm(world, p)  # caches "KG is unmapped" under the vendor's first generation
    # The write happens while p has nothing to say; then Redis restarts and forgets everything.
    run(world.services().create_mapping(new("KG", "kilogram")))
    world.redis.restart()
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kilogram", "Kilogramme")
