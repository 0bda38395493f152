"""Contract of the AgentClient: a 2xx delivers; a 4xx but 408/429 is ``AgentRefused``; else ``AgentUnavailable``.

The real client calls a real local HTTP server (``tests.fake_agent.FakeAgent``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_core.errors import AgentRefused, AgentUnavailable
from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.ids import SyncJobId
from restosync_core.ports.agent_client import AgentClient
from tests.fake_agent import FakeAgent
from tests.fakes.orders import FakeAgentClient, fake_credential

pytestmark = pytest.mark.anyio

Delivered = tuple[str, str, dict[str, object]]
"""(Idempotency-Key, correlation id, payload) of an order the agent accepted."""


@dataclass
class Agent:
    client: AgentClient
    url: AgentEndpoint
    answer: Callable[[int], None]
    """Answer every following call with this status."""
    hang: Callable[[], None]
    """Never answer (the client times out)."""
    go_down: Callable[[], None]
    """Refuse connections."""
    delivered: Callable[[], list[Delivered]]


@pytest.fixture(params=["fake", "http"])
async def agent(request: pytest.FixtureRequest) -> AsyncIterator[Agent]:
    if request.param == "fake":
        fake = FakeAgentClient()

        def fake_answer(status: int) -> None:
            fake.fail_next(*[status] * 10)

        def fake_hang() -> None:
            fake.fail_next(*[None] * 10)

        def fake_down() -> None:
            fake.down = True

        def fake_delivered() -> list[Delivered]:
            return [(str(d.job_id), str(d.correlation_id), d.payload) for d in fake.received]

        endpoint = AgentEndpoint("http://agent.example:8080", fake_credential("contract"))
        yield Agent(fake, endpoint, fake_answer, fake_hang, fake_down, fake_delivered)
        return
    server = FakeAgent().start()
    client = HttpxAgentClient(timeout_seconds=0.5)

    def delivered() -> list[Delivered]:
        return [
            (r.headers["idempotency-key"], r.headers["x-correlation-id"], r.body)
            for r in server.orders_received()
        ]

    try:
        yield Agent(client, server.endpoint(), server.fail_with, server.hang, server.down, delivered)
    finally:
        await client.aclose()
        server.stop()


async def deliver(agent: Agent, payload: dict[str, object] | None = None) -> tuple[SyncJobId, uuid.UUID]:
    job_id, correlation_id = SyncJobId(uuid.uuid4()), uuid.uuid4()
    await agent.client.create_order(
        agent.url, job_id=job_id, correlation_id=correlation_id, payload=payload or {"orderNumber": "A-1"}
    )
    return job_id, correlation_id


async def test_an_order_the_agent_accepts_is_delivered_once_with_its_idempotency_key(agent: Agent) -> None:
    payload: dict[str, object] = {"orderNumber": "A-1", "lines": [{"sku": "SKU-1", "quantity": "2"}]}

    job_id, correlation_id = await deliver(agent, payload)

    assert agent.delivered() == [(str(job_id), str(correlation_id), payload)]


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_4xx_is_a_permanent_refusal_with_its_status(agent: Agent, status: int) -> None:
    agent.answer(status)

    with pytest.raises(AgentRefused) as refusal:
        await deliver(agent)

    assert refusal.value.status_code == status


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_a_5xx_or_a_retryable_4xx_is_transient_with_its_status(agent: Agent, status: int) -> None:
    agent.answer(status)

    with pytest.raises(AgentUnavailable) as refusal:
        await deliver(agent)

    assert refusal.value.status_code == status


async def test_an_agent_that_does_not_answer_in_time_is_transient(agent: Agent) -> None:
    agent.hang()

    with pytest.raises(AgentUnavailable) as refusal:
        await deliver(agent)

    assert refusal.value.status_code is None


async def test_an_agent_that_refuses_the_connection_is_transient(agent: Agent) -> None:
    agent.go_down()

    with pytest.raises(AgentUnavailable) as refusal:
        await deliver(agent)

    assert refusal.value.status_code is None
    assert agent.delivered() == []
