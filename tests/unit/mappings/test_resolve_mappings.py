"""The cached resolver: hits, misses, expiry, not-found, the LRU bound, and one query per call at most."""

from __future__ import annotations

from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from tests.unit.mappings.helpers import KG, TVA20, V1, V2, World, new, run

KILOGRAM = MappingResult("kilogram", "Kilogramme")


def seeded_world() -> World:
    world = World()
    run(world.services().create_mapping(new("KG", "kilogram")))
    run(world.services().create_mapping(new("TVA20", "vat-20", mapping_type=MappingType.VAT, label=None)))
    return world


def test_a_first_lookup_misses_and_queries_the_database_once() -> None:
    world = seeded_world()
    p = world.process()
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == KILOGRAM
    assert p.queries == 1


def test_a_second_lookup_is_a_cache_hit_with_no_query() -> None:
    world = seeded_world()
    p = world.process()
    run(p.resolver.resolve(V1, MappingType.UNIT, "KG"))
    world.clock.advance(minutes=4, seconds=59)
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == KILOGRAM
    assert p.queries == 1


def test_an_entry_expires_five_minutes_after_it_was_cached() -> None:
    world = seeded_world()
    p = world.process()
    run(p.resolver.resolve(V1, MappingType.UNIT, "KG"))
    world.clock.advance(minutes=5)
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == KILOGRAM
    assert p.queries == 2


def test_expiry_shows_a_change_the_cache_was_never_told_about() -> None:
    world = seeded_world()
    p = world.process()
    run(p.resolver.resolve(V1, MappingType.UNIT, "KG"))
    # Someone edits the table behind the application's back (no invalidation).
    from dataclasses import replace

    from tests.fakes.mappings import mapping_table

    table = mapping_table(world.db)
    (mid,) = [m.id for m in table.values() if m.erp_code == "KG"]
    table[mid] = replace(table[mid], resto_code="kg-changed")
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == KILOGRAM  # still cached
    world.clock.advance(minutes=5)
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == MappingResult("kg-changed", "Kilogramme")


def test_an_unknown_code_answers_none_and_the_none_is_cached_too() -> None:
    world = seeded_world()
    p = world.process()
    for _ in range(50):
        assert run(p.resolver.resolve(V1, MappingType.UNIT, "LITRE")) is None
    assert p.queries == 1


def test_an_inactive_mapping_resolves_to_none() -> None:
    world = World()
    run(world.services().create_mapping(new("KG", active=False)))
    assert run(world.process().resolver.resolve(V1, MappingType.UNIT, "KG")) is None


def test_codes_are_per_vendor_and_per_type() -> None:
    world = seeded_world()
    p = world.process()
    assert run(p.resolver.resolve(V2, MappingType.UNIT, "KG")) is None
    assert run(p.resolver.resolve(V1, MappingType.VAT, "KG")) is None
    assert run(p.resolver.resolve(V1, MappingType.UNIT, "KG")) == KILOGRAM


def test_resolve_many_answers_every_distinct_key_with_one_query_for_all_misses() -> None:
    world = seeded_world()
    p = world.process()
    keys = [KG, TVA20, (MappingType.FAMILY, "F1")] * 1000 + [(MappingType.UNIT, f"U{i}") for i in range(500)]
    answers = run(p.resolver.resolve_many(V1, keys))
    assert p.queries == 1
    assert len(p.lookup.queries[0]) == 503  # each distinct key asked once
    assert len(answers) == 503
    assert answers[KG] == KILOGRAM
    assert answers[TVA20] == MappingResult("vat-20", None)
    assert answers[(MappingType.FAMILY, "F1")] is None


def test_resolve_many_queries_only_the_misses_and_nothing_once_all_are_cached() -> None:
    world = seeded_world()
    p = world.process()
    run(p.resolver.resolve_many(V1, [KG]))
    run(p.resolver.resolve_many(V1, [KG, TVA20, (MappingType.UNIT, "L")]))
    assert p.lookup.queries[1] == [TVA20, (MappingType.UNIT, "L")]
    run(p.resolver.resolve_many(V1, [KG, TVA20, (MappingType.UNIT, "L")] * 100))
    assert p.queries == 2


def test_resolve_many_reads_the_shared_generation_once_per_call_whatever_the_number_of_keys() -> None:
    world = seeded_world()
    p = world.process()
    before = world.redis.reads
    run(p.resolver.resolve_many(V1, [(MappingType.UNIT, f"U{i}") for i in range(2000)]))
    assert world.redis.reads == before + 1


def test_resolve_many_of_nothing_costs_nothing() -> None:
    world = seeded_world()
    p = world.process()
    assert run(p.resolver.resolve_many(V1, [])) == {}
    assert p.queries == 0 and world.redis.reads == 0


def test_plain_string_types_find_the_same_entries_as_enum_members() -> None:
    world = seeded_world()
    p = world.process()
    run(p.resolver.resolve_many(V1, [KG]))
    answers = run(p.resolver.resolve_many(V1, [("unit", "KG")]))  # type: ignore[list-item]
    assert answers[("unit", "KG")] == KILOGRAM  # type: ignore[index]
    assert p.queries == 1


def test_the_cache_holds_at_most_ten_thousand_entries_and_evicts_the_least_recently_used() -> None:
    world = seeded_world()
    p = world.process()
    assert p.resolver.cache.max_entries == 10_000
    codes = [f"C{i}" for i in range(10_000)]
    for code in codes:  # one call each, so insertion order is known
        run(p.resolver.resolve_many(V1, [(MappingType.UNIT, code)]))
    assert len(p.resolver.cache) == 10_000
    run(p.resolver.resolve_many(V1, [(MappingType.UNIT, "C0")]))  # C0 becomes the most recent
    queries = p.queries
    run(p.resolver.resolve_many(V1, [(MappingType.UNIT, "C10000")]))  # evicts C1, the least recent
    assert len(p.resolver.cache) == 10_000
    run(p.resolver.resolve_many(V1, [(MappingType.UNIT, "C0"), (MappingType.UNIT, "C2")]))
    assert p.queries == queries + 1  # C0 and C2 still cached
    run(p.resolver.resolve_many(V1, [(MappingType.UNIT, "C1")]))
    assert p.queries == queries + 2
    assert p.lookup.queries[-1] == [(MappingType.UNIT, "C1")]


def test_ttl_and_bound_come_from_the_constructor() -> None:
    world = seeded_world()
    p = world.process(ttl_seconds=60, max_entries=2)
    run(p.resolver.resolve_many(V1, [KG, TVA20, (MappingType.UNIT, "X")]))
    assert len(p.resolver.cache) == 2
    world.clock.advance(seconds=60)
    run(p.resolver.resolve_many(V1, [TVA20]))
    assert p.queries == 2


def test_the_resolver_satisfies_the_port_ingest_codes_against() -> None:
    from restosync_core.ports.mappings import MappingResolver

    resolver: MappingResolver = World().process().resolver
    assert isinstance(resolver, CachedMappingResolver)
