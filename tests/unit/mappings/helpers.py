"""Building blocks for mapping unit tests: a fake world shared by several fake processes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from restosync_adapters.bootstrap import Services
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingChanges, MappingType, NewMapping
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from tests.fakes import FakeClock, FakeDatabase, fake_uow_factory
from tests.fakes.mappings import FakeMappingInvalidation, FakeMappingLookup
from tests.unit.services import UNIT_SETTINGS, unit_services

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


def every_field(mapping: NewMapping) -> MappingChanges:
    """An update that sends every field (what PUT used to require): the row becomes ``mapping``."""
    return MappingChanges(
        vendor_id=mapping.vendor_id,
        mapping_type=mapping.mapping_type,
        erp_code=mapping.erp_code,
        resto_code=mapping.resto_code,
        resto_label=mapping.resto_label,
        is_active=mapping.is_active,
    )


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
    _services: Services | None = field(default=None, init=False, repr=False)

    @property
    def uow(self) -> Any:
        return fake_uow_factory(self.db)

    def services(self, *, seed_max_rows: int | None = None, **overrides: Any) -> Services:
        """One API process's services (``bootstrap`` over this world's fakes), for the admin use cases."""
        if seed_max_rows is None and not overrides:
            if self._services is None:
                self._services = unit_services(self.db, self.clock, mapping_invalidation=self.redis)
            return self._services
        settings = UNIT_SETTINGS
        if seed_max_rows is not None:
            settings = replace(UNIT_SETTINGS, mapping_seed_max_rows=seed_max_rows)
        return unit_services(self.db, self.clock, settings, **{"mapping_invalidation": self.redis, **overrides})

    def process(self, **options: Any) -> Process:
        lookup = FakeMappingLookup(self.db)
        resolver = CachedMappingResolver(lookup=lookup, invalidation=self.redis, clock=self.clock, **options)
        return Process(resolver, lookup)
