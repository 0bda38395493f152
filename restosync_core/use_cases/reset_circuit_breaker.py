"""Force a circuit breaker closed (admin), for a vendor restosync knows: a registered agent or breaker state."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.delivery import BreakerKey, BreakerStatus
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ResetCircuitBreaker:
    """A breaker may be reset when its vendor has a registered agent, or when the breaker has state
    (a vendor deregistered while its breaker was open can still be cleaned up). Anything else is a
    typo or a vendor that never existed: 404, and nothing is written to Redis for it."""

    uow: UnitOfWorkFactory
    breaker: CircuitBreaker

    async def __call__(self, key: BreakerKey) -> BreakerStatus:
        async with self.uow() as uow:
            registered = await uow.agents.get(key.vendor_id) is not None
        if not registered and all(status.key != key for status in await self.breaker.status()):
            raise NotFound(
                f"no circuit breaker {key}: vendor {key.vendor_id} has no registered agent "
                "and the breaker has no state"
            )
        return await self.breaker.reset(key)
