"""Record an agent's heartbeat: it is online from now on, whatever it was before."""

from __future__ import annotations

import logging

from restosync_core.errors import Unauthenticated
from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.ids import VendorId
from restosync_core.policies.agent_health import StatusTransition
from restosync_core.policies.agent_identity import ensure_acts_for
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.authenticate_agent import AGENT_AUTH_FAILED
from restosync_core.use_cases.register_agent import MAX_VERSION_LENGTH

log = logging.getLogger(__name__)


class RecordAgentHeartbeat:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(
        self, vendor_id: VendorId, *, named_vendor: str | None = None, version: str | None = None
    ) -> Agent:
        """``vendor_id`` is the authenticated vendor; ``named_vendor`` what the body claims (403 if other)."""
        ensure_acts_for(vendor_id, named_vendor, what="the heartbeat")
        if version is not None and len(version) > MAX_VERSION_LENGTH:
            version = version[:MAX_VERSION_LENGTH]
        now = self._clock.now()
        async with self._uow() as uow:
            recorded = await uow.agents.record_heartbeat(vendor_id, at=now, version=version)
            if recorded is None:  # deregistered between authentication and now
                raise Unauthenticated(AGENT_AUTH_FAILED)
            if recorded.previous_status is not AgentStatus.ONLINE:
                back = StatusTransition(
                    recorded.agent.id, vendor_id, recorded.previous_status, AgentStatus.ONLINE, now, now
                )
                await uow.agents.log_events("agent.status_changed", [(vendor_id, _details(back))])
                log.info("agent of vendor %s is back online (was %s)", vendor_id, back.from_status)
        return recorded.agent


def _details(t: StatusTransition) -> dict[str, object]:
    return {"from": t.from_status.value, "to": t.to_status.value, "lastSeenAt": t.last_seen_at.isoformat()}
