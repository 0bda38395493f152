"""HttpxAgentClient: the server's calls to agents, over one pooled httpx client per process."""

from __future__ import annotations

from uuid import UUID

import httpx

from restosync_core.errors import AgentUnavailable
from restosync_core.model.ids import SyncJobId

CREATE_ORDER_PATH = "/sync/create-order"


class HttpxAgentClient:
    """``Authorization: Bearer <AGENT_SECRET>`` ("NestJS -> Agent: token from config"), 30 s timeout."""

    def __init__(self, token: str, *, timeout_seconds: float, client: httpx.AsyncClient | None = None) -> None:
        self.token = token
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
        )

    async def create_order(
        self, agent_url: str, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        url = agent_url.rstrip("/") + CREATE_ORDER_PATH
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(job_id),
            "X-Correlation-ID": str(correlation_id),
        }
        try:
            response = await self.client.post(url, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise AgentUnavailable(f"the agent did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise AgentUnavailable(f"the agent could not be reached ({type(exc).__name__})") from exc
        if not response.is_success:
            raise AgentUnavailable(
                f"the agent answered {response.status_code}: {response.text[:300]}",
                status_code=response.status_code,
            )

    async def aclose(self) -> None:
        await self.client.aclose()
