"""Deregister an agent: its row goes, and its token stops working at once in every process."""

from __future__ import annotations

from restosync_core.errors import NotFound
from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.ports.agents import AgentTokenCache
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


class DeregisterAgent:
    def __init__(self, uow: UnitOfWorkFactory, tokens: AgentTokenCache, clock: Clock) -> None:
        self._uow = uow
        self._tokens = tokens
        self._clock = clock

    async def __call__(self, vendor_id: str, *, context: RequestContext = NO_REQUEST) -> None:
        """``context``: the request that asked, for the audit log."""
        vendor = VendorId(vendor_id)
        async with self._uow() as uow:
            if not await uow.agents.delete(vendor):
                raise NotFound(f"no agent is registered for vendor {vendor_id}")
            await uow.audit_log.record(
                AuditEntry(
                    action="agent.deregistered",
                    entity_type="agent",
                    entity_id=vendor,
                    context=context,
                    created_at=self._clock.now(),
                )
            )
            await self._tokens.forget(vendor)  # cannot revoke -> nothing is committed
        # Again after the commit: a verification that read the row before it went may have
        # re-cached the token in between (the cache's stamp check refuses that, this is belt and braces).
        await self._tokens.forget(vendor)
