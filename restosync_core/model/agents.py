"""Agents: the small programs next to each vendor's ERP, and their health."""

from __future__ import annotations

import base64
import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from restosync_core.model.ids import AgentId, VendorId


class AgentStatus(enum.StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"


OUTBOUND_TOKEN_PREFIX = "rso_out_"  # noqa: S105 - a prefix, not a secret
SIGNING_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True, slots=True)
class OutboundCredential:
    """What restosync's own calls to one agent carry (docs/agent-protocol.md#signed-requests).

    ``token``: sent as ``Authorization: Bearer`` on every call, so the agent knows the call is
    meant for it. ``signing_secret``: the HMAC key of the ``webhook-signature`` header; never
    sent. Both are issued at registration and again whenever the agent's token is replaced,
    and grant nothing on our side: neither is accepted by any route of the API.
    """

    token: str = field(repr=False)
    signing_secret: str = field(repr=False)

    @classmethod
    def issue(cls) -> OutboundCredential:
        """A fresh pair: a random token, and ``whsec_`` + base64 of 32 random bytes."""
        return cls(
            OUTBOUND_TOKEN_PREFIX + secrets.token_urlsafe(32),
            SIGNING_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode(),
        )


@dataclass(frozen=True, slots=True)
class AgentEndpoint:
    """Where an agent listens and what our calls to it carry."""

    url: str
    credential: OutboundCredential


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
    outbound_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    """The agent's ``OutboundCredential`` (never answered by an admin route, logged or audited)."""

    @property
    def endpoint(self) -> AgentEndpoint:
        return AgentEndpoint(self.agent_url, OutboundCredential(self.outbound_token, self.signing_secret))

    @property
    def last_seen_at(self) -> datetime:
        """The last sign of life: the last heartbeat, or the registration when none came yet."""
        return self.last_heartbeat_at or self.registered_at
