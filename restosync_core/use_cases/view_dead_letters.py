"""Read dead letters: the unresolved ones, a page at a time, and one with its original payload."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import DeadLetterId, VendorId
from restosync_core.model.orders import DeadLetter
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ViewDeadLetters:
    uow: UnitOfWorkFactory

    async def unresolved(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        async with self.uow() as uow:
            return await uow.dead_letters.list_unresolved(page, vendor_id)

    async def one(self, letter_id: DeadLetterId) -> DeadLetter:
        async with self.uow() as uow:
            letter = await uow.dead_letters.get(letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {letter_id}")
        return letter
