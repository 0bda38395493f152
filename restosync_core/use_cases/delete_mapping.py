"""Soft-delete one mapping: ``is_active`` becomes false, the row stays; doing it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping
from restosync_core.ports.mappings import MappingInvalidation, MappingRepository
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import write_mappings


@dataclass(frozen=True, slots=True)
class DeleteMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation

    async def __call__(self, mapping_id: MappingId) -> Mapping:
        async def work(repo: MappingRepository) -> tuple[Mapping, set[VendorId]]:
            mapping = await repo.deactivate(mapping_id)
            if mapping is None:
                raise NotFound(f"no mapping with id {mapping_id}")
            return mapping, {mapping.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
