"""Admin update of an agent: its URL and/or its settings."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound, ValidationFailed
from restosync_core.model.agents import Agent
from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.policies.agent_url import AgentUrlPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.get_agent import as_of


@dataclass(frozen=True, slots=True)
class AgentChanges:
    agent_url: str | None = None
    settings: dict[str, object] | None = None
    """Replaces the stored settings as a whole."""


class UpdateAgent:
    """``agentUrl`` must pass ``url_policy``, the same rule as registration."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, url_policy: AgentUrlPolicy | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._url_policy = url_policy or AgentUrlPolicy()

    async def __call__(
        self, vendor_id: str, changes: AgentChanges, *, context: RequestContext = NO_REQUEST
    ) -> Agent:
        """``context``: the request that asked, for the audit log."""
        if changes.agent_url is None and changes.settings is None:
            raise ValidationFailed("nothing to change: send agentUrl and/or settings", path="$")
        if changes.agent_url is not None:
            self._url_policy.check(changes.agent_url)
        vendor = VendorId(vendor_id)
        async with self._uow() as uow:
            now = self._clock.now()
            agent = await uow.agents.update(vendor, agent_url=changes.agent_url, settings=changes.settings, at=now)
            if agent is None:
                raise NotFound(f"no agent is registered for vendor {vendor_id}")
            changed = [k for k, v in (("agentUrl", changes.agent_url), ("settings", changes.settings)) if v is not None]
            await uow.audit_log.record(
                AuditEntry(
                    action="agent.updated",
                    entity_type="agent",
                    entity_id=vendor,
                    context=context,
                    created_at=now,
                    details={"changed": changed},
                )
            )
        return as_of(agent, self._clock)
