"""Read one mapping by id, active or not."""

from __future__ import annotations

from restosync_core.errors import NotFound
from restosync_core.model.ids import MappingId
from restosync_core.model.mappings import Mapping
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


async def get_mapping(mapping_id: MappingId, *, uow: UnitOfWorkFactory) -> Mapping:
    async with uow() as tx:
        mapping = await tx.mappings.get(mapping_id)
    if mapping is None:
        raise NotFound(f"no mapping with id {mapping_id}")
    return mapping
