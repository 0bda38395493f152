"""List mappings, filtered by vendor, type and activity, a page at a time (REQ-14)."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.mappings import Mapping
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.mappings import MappingFilter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ListMappings:
    uow: UnitOfWorkFactory

    async def __call__(self, where: MappingFilter, page: PageRequest) -> Page[Mapping]:
        async with self.uow() as tx:
            return await tx.mappings.list(where, page)
