"""Ports of the agent registry: the agents table, token hashing and the verified-token cache."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from restosync_core.model.agents import Agent, AgentStatus, OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies.agent_health import StatusTransition


@dataclass(frozen=True, slots=True)
class NewRegistration:
    vendor_id: VendorId
    agent_url: str
    auth_token_hash: str
    version: str | None
    at: datetime
    outbound: OutboundCredential | None = None
    """A new outbound credential (required to insert); ``None`` on an update keeps the stored one."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    vendor_id: VendorId
    at: datetime
    version: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatRecorded:
    agent: Agent
    """The agent after the heartbeat (status online)."""
    previous_status: AgentStatus
    """The status recorded before it."""


class AgentRepository(Protocol):
    """The ``agent_registry`` table, one row per vendor; bound to a unit of work, never commits."""

    async def get(self, vendor_id: VendorId) -> Agent | None: ...

    async def get_for_update(self, vendor_id: VendorId) -> Agent | None:
        """The agent, locked until the unit of work ends."""
        ...

    async def insert(self, registration: NewRegistration) -> Agent | None:
        """A new online agent; None when the vendor already has one (nothing changes then)."""
        ...

    async def update_registration(
        self, registration: NewRegistration, *, token_replaced: bool
    ) -> Agent:
        """Re-registration of an existing vendor: URL, version, token hash; it counts as a heartbeat."""
        ...

    async def record_heartbeats(self, heartbeats: Sequence[Heartbeat]) -> list[HeartbeatRecorded]:
        """Mark each agent heard from at its heartbeat's time (never earlier than already recorded),
        status online, in one statement; vendors without an agent are skipped. One heartbeat per vendor."""
        ...

    async def update(
        self,
        vendor_id: VendorId,
        *,
        agent_url: str | None,
        settings: dict[str, object] | None,
        at: datetime,
    ) -> Agent | None:
        """Admin change of URL and/or settings (None leaves a field alone); None when not found."""
        ...

    async def delete(self, vendor_id: VendorId) -> bool:
        """Remove the vendor's agent; False when there was none."""
        ...

    async def page(self, request: PageRequest) -> Page[Agent]:
        """Agents ordered by vendor id."""
        ...

    async def all(self) -> list[Agent]: ...

    async def apply_transitions(self, planned: Sequence[StatusTransition]) -> list[StatusTransition]:
        """Record each planned status, only where neither the status nor the last heartbeat moved
        since it was planned; answer the transitions actually recorded."""
        ...


class TokenHasher(Protocol):
    """A slow, salted hash of agent tokens (bcrypt). Never blocks the event loop."""

    async def hash(self, token: str) -> str: ...

    async def verify(self, token: str, hashed: str | None) -> bool:
        """Whether ``token`` matches ``hashed``; with None, spends the same time and answers False."""
        ...


class AgentTokenCache(Protocol):
    """Tokens already verified with the slow hash, recognised fast for a short while.

    It never stores a token, only a keyed digest of it. ``forget`` revokes at
    once for every process; ``remember`` is ignored when a ``forget`` happened
    since ``stamp`` was read, so a verification racing a revocation cannot
    bring a revoked token back.
    """

    async def recognises(self, vendor_id: VendorId, token: str) -> bool: ...

    async def stamp(self, vendor_id: VendorId) -> str:
        """An opaque revocation stamp; read it before reading the stored hash."""
        ...

    async def remember(self, vendor_id: VendorId, token: str, stamp: str) -> None: ...

    async def forget(self, vendor_id: VendorId) -> None:
        """Revoke whatever token of this vendor is cached (raises DependencyUnavailable if it cannot)."""
        ...
