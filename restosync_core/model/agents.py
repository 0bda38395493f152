"""Agents: the small programs next to each vendor's ERP, and their health."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from restosync_core.model.ids import AgentId, VendorId


class AgentStatus(enum.StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Agent:
    id: AgentId
    vendor_id: VendorId
    agent_url: str
    auth_token_hash: str
    version: str | None
    status: AgentStatus
    """The status recorded by the last health check; see ``policies.agent_health`` for 'now'."""
    last_heartbeat_at: datetime | None
    registered_at: datetime
    updated_at: datetime
    settings: dict[str, object] = field(default_factory=dict)
    status_changed_at: datetime | None = None
    """When the recorded ``status`` last changed."""

    @property
    def last_seen_at(self) -> datetime:
        """The last sign of life: the last heartbeat, or the registration when none came yet."""
        return self.last_heartbeat_at or self.registered_at
