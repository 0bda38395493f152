"""Ports for talking to a vendor's agent: where it is, and the order call."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from restosync_core.model.ids import SyncJobId, VendorId


class AgentDirectory(Protocol):
    async def agent_url(self, vendor_id: VendorId) -> str | None:
        """The registered agent's base URL, or None when the vendor has no agent."""
        ...


class AgentClient(Protocol):
    async def create_order(
        self, agent_url: str, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        """``POST {agent_url}/sync/create-order`` with ``Idempotency-Key: <job_id>``.

        Returns on a 2xx. Raises ``AgentRefused`` (with the status code) for a 4xx
        other than 408/429, or when the agent's address may not be called;
        ``AgentUnavailable`` (with the status code when there was an answer) for
        anything else: a 5xx, 408, 429, a timeout or a refused connection.
        """
        ...
