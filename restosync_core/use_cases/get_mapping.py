"""Read one mapping by id, active or not."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import MappingId
from restosync_core.model.mappings import Mapping
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class GetMapping:
    uow: UnitOfWorkFactory

    async def __call__(self, mapping_id: MappingId) -> Mapping:
        async with self.uow() as tx:
            mapping = await tx.mappings.get(mapping_id)
        if mapping is None:
            raise NotFound(f"no mapping with id {mapping_id}")
        return mapping
