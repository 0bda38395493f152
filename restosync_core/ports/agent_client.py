"""Ports for talking to a vendor's agent: where it is (and what our calls carry), and the order call."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.ids import SyncJobId, VendorId


class AgentDirectory(Protocol):
    async def endpoint(self, vendor_id: VendorId) -> AgentEndpoint | None:
        """The registered agent's base URL and outbound credential, or None when the vendor has no agent."""
        ...


class AgentClient(Protocol):
    async def create_order(
        self, agent: AgentEndpoint, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        """``POST {agent.url}/sync/create-order`` with ``Idempotency-Key: <job_id>``, carrying the agent's
        outbound token and signed with its signing secret (docs/agent-protocol.md#signed-requests).

        Returns on a 2xx. Raises ``AgentRefused`` (with the status code) for a 4xx
        other than 408/429, or when the agent's address may not be called;
        ``AgentUnavailable`` (with the status code when there was an answer) for
        anything else: a 5xx, 408, 429, a timeout or a refused connection.
        """
        ...
