"""Property: for any sequence of writes and reads, resolve answers exactly what the database holds.

Two processes with their own (small, so eviction happens) caches share one
database and one Redis; the machine interleaves creates, updates, deletes,
seeds, reads from either process, time passing, Redis outages and Redis
restarts that forget every generation.
"""

from __future__ import annotations

import contextlib

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from restosync_core.errors import Conflict, DependencyUnavailable, ValidationFailed
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType, NewMapping
from restosync_core.ports.mappings import CodeKey
from tests.fakes.mappings import mapping_table
from tests.unit.mappings.helpers import World, every_field, run

vendors = st.sampled_from([VendorId("v1"), VendorId("v2")])
types = st.sampled_from([MappingType.UNIT, MappingType.VAT])
codes = st.sampled_from(["A", "B", "C"])
keys = st.tuples(types, codes)
rows = st.builds(
    NewMapping,
    vendor_id=vendors,
    mapping_type=types,
    erp_code=codes,
    resto_code=st.sampled_from(["r1", "r2"]),
    resto_label=st.sampled_from([None, "L"]),
    is_active=st.booleans(),
)


class ResolveMatchesTheDatabase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.processes = [self.world.process(max_entries=4), self.world.process(max_entries=4)]

    def direct_read(self, vendor: VendorId, key: CodeKey) -> MappingResult | None:
        for m in mapping_table(self.world.db).values():
            if (m.vendor_id, m.mapping_type, m.erp_code) == (vendor, *key) and m.is_active:
                return MappingResult(m.resto_code, m.resto_label)
        return None

    def ids(self) -> list[object]:
        return sorted(mapping_table(self.world.db), key=str)

    @rule(row=rows)
    def create(self, row: NewMapping) -> None:
        with contextlib.suppress(Conflict, DependencyUnavailable):
            run(self.world.services().create_mapping(row))

    @rule(pick=st.integers(0, 20), row=rows)
    def update(self, pick: int, row: NewMapping) -> None:
        ids = self.ids()
        if ids:
            target = ids[pick % len(ids)]
            with contextlib.suppress(Conflict, DependencyUnavailable):
                run(self.world.services().update_mapping(target, every_field(row)))  # type: ignore[arg-type]

    @rule(pick=st.integers(0, 20))
    def delete(self, pick: int) -> None:
        ids = self.ids()
        if ids:
            target = ids[pick % len(ids)]
            with contextlib.suppress(DependencyUnavailable):
                run(self.world.services().delete_mapping(target))  # type: ignore[arg-type]

    @rule(batch=st.lists(rows, max_size=6))
    def seed(self, batch: list[NewMapping]) -> None:
        with contextlib.suppress(ValidationFailed, Conflict, DependencyUnavailable):
            run(self.world.services().seed_mappings(batch))

    @rule(which=st.integers(0, 1), vendor=vendors, wanted=st.lists(keys, min_size=1, max_size=8))
    def resolve_many(self, which: int, vendor: VendorId, wanted: list[CodeKey]) -> None:
        answers = run(self.processes[which].resolver.resolve_many(vendor, wanted))
        assert answers == {k: self.direct_read(vendor, k) for k in wanted}

    @rule(which=st.integers(0, 1), vendor=vendors, key=keys)
    def resolve(self, which: int, vendor: VendorId, key: CodeKey) -> None:
        assert run(self.processes[which].resolver.resolve(vendor, *key)) == self.direct_read(vendor, key)

    @rule(seconds=st.sampled_from([1, 60, 299, 300, 301]))
    def time_passes(self, seconds: int) -> None:
        self.world.clock.advance(seconds=seconds)

    @rule(down=st.booleans())
    def redis_availability(self, down: bool) -> None:
        self.world.redis.down = down

    @rule()
    def redis_restarts_and_forgets(self) -> None:
        self.world.redis.restart()

    @invariant()
    def caches_stay_within_their_bound(self) -> None:
        assert all(len(p.resolver.cache) <= 4 for p in self.processes)


ResolveMatchesTheDatabase.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_resolve_always_matches_a_direct_database_read = ResolveMatchesTheDatabase.TestCase
