"""The agent client refuses to connect when the agent's host is, or resolves to, a denied address."""

from __future__ import annotations

import asyncio
import logging
import uuid
from urllib.parse import urlsplit

import pytest

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_core.errors import AgentRefused
from restosync_core.model.ids import SyncJobId
from restosync_core.policies.agent_url import AgentUrlPolicy, parse_networks
from restosync_core.policies.breaker import counts_as_failure
from tests.fake_agent import FakeAgent, endpoint_at

DENY_LOOPBACK = AgentUrlPolicy(denied_networks=parse_networks("127.0.0.0/8,::1/128"))


def _deliver(client: HttpxAgentClient, url: str, agent: FakeAgent | None = None) -> None:
    endpoint = agent.endpoint(url) if agent is not None else endpoint_at(url)

    async def call() -> None:
        try:
            await client.create_order(endpoint, job_id=SyncJobId(uuid.uuid4()), correlation_id=uuid.uuid4(), payload={})
        finally:
            await client.aclose()

    asyncio.run(call())


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_host_in_a_denied_network_is_refused_for_good_without_a_connection(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    agent = FakeAgent().start()
    try:
        port = urlsplit(agent.url).port
        url = f"http://{host}:{port}"
        with caplog.at_level(logging.WARNING, "restosync_adapters.agent_client"), pytest.raises(
            AgentRefused
        ) as caught:
            _deliver(HttpxAgentClient(timeout_seconds=5, url_policy=DENY_LOOPBACK), url, agent)
        assert not counts_as_failure(caught.value), "and says nothing about the agent's health"
        assert "denied network (127.0.0.0/8" in caught.value.message or "::1/128" in caught.value.message
        if host == "localhost":
            assert "localhost resolves to" in caught.value.message
        assert any("refused to call the agent" in r.getMessage() for r in caplog.records)
        assert agent.orders_received() == []

        _deliver(HttpxAgentClient(timeout_seconds=5), url, agent)  # the default policy allows loopback
        assert len(agent.orders_received()) == 1
    finally:
        agent.stop()


def test_a_cloud_metadata_hostname_is_refused_before_any_lookup() -> None:
    with pytest.raises(AgentRefused, match="cloud metadata"):
        _deliver(HttpxAgentClient(timeout_seconds=5), "http://metadata.google.internal/")
