"""Agent health: a status is a pure function of the silence since the agent was last heard from.

    online ──(silent > 60 s)──> degraded ──(silent > 300 s)──> offline
       ^                                                          │
       └───────────────────(heartbeat received)───────────────────┘

Reads compute the status as of *now* with :func:`status_at`; the periodic
health check compares that with the status it recorded last time and records
the differences (:func:`plan_transitions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.ids import AgentId, VendorId

DEGRADED_AFTER = timedelta(seconds=60)
"""More silence than this and an agent is ``degraded``."""
OFFLINE_AFTER = timedelta(seconds=300)
"""More silence than this and an agent is ``offline``."""


def status_after(silence: timedelta) -> AgentStatus:
    """The status of an agent silent for ``silence`` (negative, from clock skew, counts as none)."""
    if silence > OFFLINE_AFTER:
        return AgentStatus.OFFLINE
    if silence > DEGRADED_AFTER:
        return AgentStatus.DEGRADED
    return AgentStatus.ONLINE


def status_at(last_seen_at: datetime, now: datetime) -> AgentStatus:
    return status_after(now - last_seen_at)


def current_status(agent: Agent, now: datetime) -> AgentStatus:
    return status_at(agent.last_seen_at, now)


@dataclass(frozen=True, slots=True)
class StatusTransition:
    """One agent's move from one status to another, as the health check (or a heartbeat) saw it."""

    agent_id: AgentId
    vendor_id: VendorId
    from_status: AgentStatus
    to_status: AgentStatus
    at: datetime
    last_seen_at: datetime

    @property
    def went_offline(self) -> bool:
        return self.to_status is AgentStatus.OFFLINE and self.from_status is not AgentStatus.OFFLINE


def plan_transitions(agents: Iterable[Agent], now: datetime) -> list[StatusTransition]:
    """The agents whose status as of ``now`` differs from the recorded one, and where each goes."""
    planned = []
    for agent in agents:
        status = current_status(agent, now)
        if status is not agent.status:
            planned.append(
                StatusTransition(agent.id, agent.vendor_id, agent.status, status, now, agent.last_seen_at)
            )
    return planned
