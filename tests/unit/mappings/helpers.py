"""Building blocks for mapping unit tests: a fake world shared by several fake processes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingType, NewMapping
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from tests.fakes import FakeClock, FakeDatabase, fake_uow_factory
from tests.fakes.mappings import FakeMappingInvalidation, FakeMappingLookup

T = TypeVar("T")

V1 = VendorId("vendor-1")
V2 = VendorId("vendor-2")
KG = (MappingType.UNIT, "KG")
TVA20 = (MappingType.VAT, "TVA20")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def new(
    erp_code: str = "KG",
    resto_code: str = "kilogram",
    *,
    vendor: VendorId = V1,
    mapping_type: MappingType = MappingType.UNIT,
    label: str | None = "Kilogramme",
    active: bool = True,
) -> NewMapping:
    return NewMapping(vendor, mapping_type, erp_code, resto_code, label, active)


@dataclass
class Process:
    """One API or worker process: its own resolver, cache and database connection."""

    resolver: CachedMappingResolver
    lookup: FakeMappingLookup

    @property
    def queries(self) -> int:
        return len(self.lookup.queries)


@dataclass
class World:
    """One database and one Redis, shared by every process of the deployment."""

    db: FakeDatabase = field(default_factory=FakeDatabase)
    redis: FakeMappingInvalidation = field(default_factory=FakeMappingInvalidation)
    clock: FakeClock = field(default_factory=FakeClock)

    @property
    def uow(self) -> Any:
        return fake_uow_factory(self.db)

    def process(self, **options: Any) -> Process:
        lookup = FakeMappingLookup(self.db)
        resolver = CachedMappingResolver(lookup=lookup, invalidation=self.redis, clock=self.clock, **options)
        return Process(resolver, lookup)
