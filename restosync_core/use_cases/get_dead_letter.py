"""Read one dead letter with its original payload; NotFound if there is none."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.ids import DeadLetterId
from restosync_core.model.orders import DeadLetter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class GetDeadLetter:
    uow: UnitOfWorkFactory

    async def __call__(self, letter_id: DeadLetterId) -> DeadLetter:
        async with self.uow() as uow:
            letter = await uow.dead_letters.get(letter_id)
        if letter is None:
            raise NotFound(f"no dead letter {letter_id}")
        return letter
