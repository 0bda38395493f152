"""The agent client over real HTTP: keep-alive connections the agent closed are not reused."""

from __future__ import annotations

import asyncio
import uuid

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_core.model.ids import SyncJobId
from tests.fake_agent import FakeAgent
from tests.waiting import wait_until


def test_a_keep_alive_connection_the_agent_closed_while_the_worker_was_idle_is_not_reused() -> None:
    agent = FakeAgent().start()
    client = HttpxAgentClient(timeout_seconds=5)
    endpoint = agent.endpoint()
    loop = asyncio.new_event_loop()  # like a worker's: it only runs while a job runs

    def deliver() -> None:
        loop.run_until_complete(
            client.create_order(endpoint, job_id=SyncJobId(uuid.uuid4()), correlation_id=uuid.uuid4(), payload={})
        )

    try:
        deliver()
        assert agent._loop is not None
        agent._loop.call_soon_threadsafe(lambda: [t.close() for t in list(agent._transports)])  # its keep-alive ends
        wait_until(lambda: not agent._transports, 5, "the agent to close its keep-alive connections", every=0.01)
        assert not agent._transports
        deliver()  # on a new connection, not a failure on the closed one
        assert len(agent.orders_received()) == 2
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
        agent.stop()
