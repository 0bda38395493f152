"""List the unresolved dead letters, oldest first, a page at a time (optionally one vendor's)."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.ids import VendorId
from restosync_core.model.orders import DeadLetter
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ListDeadLetters:
    uow: UnitOfWorkFactory

    async def __call__(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        async with self.uow() as uow:
            return await uow.dead_letters.list_unresolved(page, vendor_id)
