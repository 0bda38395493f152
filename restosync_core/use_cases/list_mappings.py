"""List mappings, filtered by vendor, type and activity, a page at a time (REQ-14)."""

from __future__ import annotations

from restosync_core.model.mappings import Mapping
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.mappings import MappingFilter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


async def list_mappings(where: MappingFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[Mapping]:
    async with uow() as tx:
        return await tx.mappings.list(where, page)
