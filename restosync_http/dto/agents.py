"""Agent registry DTOs: registration, heartbeat, admin update, and the agent as answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from restosync_core.errors import ValidationFailed
from restosync_core.model.agents import Agent
from restosync_http.dto.base import Dto

MAX_SETTINGS_DEPTH = 8
"""``settings`` is an object whose values nest at most this many levels (the object itself is level 1)."""
MAX_SETTINGS_BYTES = 64 * 1024
"""``settings`` takes at most this many bytes once encoded as compact JSON (64 KiB)."""

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
        msgspec.Meta(
            description=(
                "Free-form agent settings (JSON object); replaces the stored settings. "
                f"At most {MAX_SETTINGS_DEPTH} levels deep and {MAX_SETTINGS_BYTES // 1024} KiB encoded."
            )
        ),
    ] = None

    def check(self) -> None:
        if self.settings is not None:
            check_settings(self.settings)


def settings_depth(settings: dict[str, Any]) -> int:
    """How many levels of objects and arrays ``settings`` holds, itself included (no recursion)."""
    deepest = 0
    stack: list[tuple[int, Any]] = [(1, settings)]
    while stack:
        depth, value = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_SETTINGS_DEPTH:
            break  # already too deep: no need to measure how much
        children = value.values() if isinstance(value, dict) else value
        stack.extend((depth + 1, child) for child in children if isinstance(child, (dict, list)))
    return deepest


def check_settings(settings: dict[str, Any]) -> None:
    """400 naming ``$.settings`` and the limit when the settings nest too deep or are too large."""
    if settings_depth(settings) > MAX_SETTINGS_DEPTH:
        raise ValidationFailed(f"settings nest at most {MAX_SETTINGS_DEPTH} levels", path="$.settings")
    size = len(msgspec.json.encode(settings))
    if size > MAX_SETTINGS_BYTES:
        raise ValidationFailed(
            f"settings take at most {MAX_SETTINGS_BYTES // 1024} KiB when encoded as JSON ({size} bytes given)",
            path="$.settings",
        )


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
