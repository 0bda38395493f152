"""Replace every field of one mapping (PUT); its old and new vendors' caches are invalidated."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, NewMapping
from restosync_core.policies.mapping_rules import check_mapping
from restosync_core.ports.mappings import MappingInvalidation, MappingRepository
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import write_mappings


@dataclass(frozen=True, slots=True)
class UpdateMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation

    async def __call__(self, mapping_id: MappingId, new: NewMapping) -> Mapping:
        check_mapping(new)

        async def work(repo: MappingRepository) -> tuple[Mapping, set[VendorId]]:
            replaced = await repo.replace(mapping_id, new)
            if replaced is None:
                raise NotFound(f"no mapping with id {mapping_id}")
            before, after = replaced
            return after, {before.vendor_id, after.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
