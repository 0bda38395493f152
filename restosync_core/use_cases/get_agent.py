"""Get one agent, with its status as of now (not as of the last health check)."""

from __future__ import annotations

from dataclasses import replace

from restosync_core.errors import NotFound
from restosync_core.model.agents import Agent
from restosync_core.model.ids import VendorId
from restosync_core.policies.agent_health import current_status
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


def as_of(agent: Agent, clock: Clock) -> Agent:
    """The agent with ``status`` computed for the current time."""
    return replace(agent, status=current_status(agent, clock.now()))


class GetAgent:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, vendor_id: str) -> Agent:
        async with self._uow() as uow:
            agent = await uow.agents.get(VendorId(vendor_id))
        if agent is None:
            raise NotFound(f"no agent is registered for vendor {vendor_id}")
        return as_of(agent, self._clock)
