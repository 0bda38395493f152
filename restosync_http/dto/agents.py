"""Agent registry DTOs: registration, heartbeat, admin update, and the agent as answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec

from restosync_core.errors import ValidationFailed
from restosync_core.model.agents import Agent
from restosync_http.dto.base import Dto
from restosync_http.openapi import json_value_schema

MAX_SETTINGS_DEPTH = 8
"""``settings`` is an object whose values nest at most this many levels (the object itself is level 1)."""
MAX_SETTINGS_BYTES = 64 * 1024
"""``settings`` takes at most this many bytes once encoded as compact JSON (64 KiB)."""
SETTINGS_DESCRIPTION = (
    "Free-form agent settings (JSON object); replaces the stored settings. "
    f"At most {MAX_SETTINGS_DEPTH} levels deep and {MAX_SETTINGS_BYTES // 1024} KiB encoded; no NUL in any string."
)

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

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
AGENT_URL_DOC_PATTERN = rf"^https?://(?:{_LABEL}\.){{0,3}}[a-z](?:[a-z0-9-]{{0,30}}[a-z0-9])?(?::{_PORT})?(?:/[A-Za-z0-9._~/-]*)?$"
"""The agent URLs the OpenAPI document promises to accept: a hostname (not an IP literal, whose networks
the policy checks), a port of 1-65535, a plain path. ``AgentUrlPolicy`` accepts more (IP literals outside
the denied networks), never less."""


class RegisterAgentRequest(Dto):
    openapi_extra: ClassVar[dict[str, Any]] = {"properties": {"agentUrl": {"pattern": AGENT_URL_DOC_PATTERN}}}
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "vendorId": "vendor-42",
        "agentUrl": "https://erp-agent.vendor-42.example:8443/agent",
        "authToken": "an-agent-secret-of-at-least-32-characters",
        "version": "1.4.2",
    }

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
    openapi_example: ClassVar[dict[str, Any] | None] = {"vendorId": "vendor-42", "version": "1.4.2"}

    vendor_id: Annotated[
        str | None, msgspec.Meta(description="Optional; if sent, must be the vendor of the token (else 403).")
    ] = None
    version: VersionField | None = None


class UpdateAgentRequest(Dto):
    """At least one of its fields; an omitted one is left as it is (null is not a value of either)."""

    openapi_extra: ClassVar[dict[str, Any]] = {
        "min_properties": 1,
        "properties": {
            "agentUrl": {"pattern": AGENT_URL_DOC_PATTERN},
            "settings": json_value_schema(MAX_SETTINGS_DEPTH, SETTINGS_DESCRIPTION),
        },
    }
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "agentUrl": "https://erp-agent.vendor-42.example:8443/agent",
        "settings": {"batchSize": 500},
    }

    agent_url: AgentUrlField | msgspec.UnsetType = msgspec.UNSET
    settings: Annotated[dict[str, Any], msgspec.Meta(description=SETTINGS_DESCRIPTION)] | msgspec.UnsetType = (
        msgspec.UNSET
    )

    def check(self) -> None:
        if self.settings is not msgspec.UNSET:
            check_settings(self.settings)

    def changes(self) -> tuple[str | None, dict[str, Any] | None]:
        """(agentUrl, settings), None for each one not sent."""
        agent_url = None if self.agent_url is msgspec.UNSET else self.agent_url
        settings = None if self.settings is msgspec.UNSET else self.settings
        return agent_url, settings


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


class OutboundCredentialResponse(Dto):
    token: Annotated[
        str,
        msgspec.Meta(description="Sent as `Authorization: Bearer` on every call restosync makes to the agent."),
    ]
    signing_secret: Annotated[
        str,
        msgspec.Meta(
            description="`whsec_` + base64 of 32 bytes: the HMAC-SHA256 key of the `webhook-signature` header of "
            "every call restosync makes to the agent; never sent (docs/agent-protocol.md#signed-requests)."
        ),
    ]


class RegisteredAgentResponse(AgentResponse):
    outbound: Annotated[
        OutboundCredentialResponse,
        msgspec.Meta(
            description="The credential of restosync's calls to this agent: issued at registration, replaced "
            "with the token, accepted by no route of this API. Answered only here."
        ),
    ]

    @classmethod
    def registered(cls, agent: Agent) -> RegisteredAgentResponse:
        base = AgentResponse.of(agent)
        return cls(
            **{f: getattr(base, f) for f in AgentResponse.__struct_fields__},
            outbound=OutboundCredentialResponse(token=agent.outbound_token, signing_secret=agent.signing_secret),
        )


class HeartbeatResponse(Dto):
    vendor_id: str
    status: str
    received_at: datetime
