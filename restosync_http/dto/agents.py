"""Agent registry DTOs: registration, heartbeat, admin update, and the agent as answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from restosync_core.model.agents import Agent
from restosync_http.dto.base import Dto

VendorIdField = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="The vendor this agent serves: 1-64 characters of [A-Za-z0-9._-].",
        examples=["vendor-42"],
    ),
]
AgentUrlField = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^https?://",
        max_length=2048,
        description="Where the server reaches the agent (http or https).",
        examples=["https://erp-agent.vendor-42.example:8443/agent"],
    ),
]
VersionField = Annotated[str, msgspec.Meta(max_length=64, description="The agent's software version.")]


class RegisterAgentRequest(Dto):
    vendor_id: VendorIdField
    agent_url: AgentUrlField
    auth_token: Annotated[
        str,
        msgspec.Meta(
            min_length=32,
            max_length=1024,
            description="The agent's own secret token (>= 32 characters). Stored only as a bcrypt hash; "
            "the agent sends it as 'Authorization: Bearer' on every later request.",
        ),
    ]
    version: VersionField | None = None


class HeartbeatRequest(Dto):
    vendor_id: Annotated[
        str | None, msgspec.Meta(description="Optional; if sent, must be the vendor of the token (else 403).")
    ] = None
    version: VersionField | None = None


class UpdateAgentRequest(Dto):
    agent_url: AgentUrlField | None = None
    settings: Annotated[
        dict[str, Any] | None,
        msgspec.Meta(description="Free-form agent settings (JSON object); replaces the stored settings."),
    ] = None


class AgentResponse(Dto):
    id: str
    vendor_id: str
    agent_url: str
    version: str | None
    status: Annotated[str, msgspec.Meta(description="online | degraded | offline, as of this answer.")]
    last_heartbeat_at: datetime | None
    status_changed_at: datetime | None
    registered_at: datetime
    updated_at: datetime
    settings: dict[str, Any]

    @classmethod
    def of(cls, agent: Agent) -> AgentResponse:
        return cls(
            id=str(agent.id),
            vendor_id=agent.vendor_id,
            agent_url=agent.agent_url,
            version=agent.version,
            status=agent.status.value,
            last_heartbeat_at=agent.last_heartbeat_at,
            status_changed_at=agent.status_changed_at,
            registered_at=agent.registered_at,
            updated_at=agent.updated_at,
            settings=dict(agent.settings),
        )


class HeartbeatResponse(Dto):
    vendor_id: str
    status: str
    received_at: datetime
