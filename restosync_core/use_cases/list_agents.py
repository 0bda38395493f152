"""List agents a page at a time, each with its status as of now."""

from __future__ import annotations

from dataclasses import replace

from restosync_core.model.agents import Agent
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.get_agent import as_of


class ListAgents:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, page: PageRequest) -> Page[Agent]:
        async with self._uow() as uow:
            found = await uow.agents.page(page)
        return replace(found, items=[as_of(agent, self._clock) for agent in found.items])
