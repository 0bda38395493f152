"""Create one mapping; a (vendor, type, ERP code) that already exists, active or not, is a Conflict."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import Mapping, NewMapping
from restosync_core.policies.mapping_rules import check_mapping
from restosync_core.ports.mappings import MappingInvalidation, MappingRepository
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import write_mappings


@dataclass(frozen=True, slots=True)
class CreateMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation

    async def __call__(self, new: NewMapping) -> Mapping:
        check_mapping(new)

        async def work(repo: MappingRepository) -> tuple[Mapping, set[VendorId]]:
            return await repo.create(new), {new.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
