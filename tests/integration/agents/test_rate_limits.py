"""Rate limits over HTTP, counted in the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.agent_helpers import admin_headers, agent_token, register_agent

Client = TestClient  # type: ignore[type-arg]


def _client_with(settings: Settings, **env: str) -> Iterator[Client]:
    tuned = make_settings(settings.database_url, settings.redis_prefix, **env)
    with TestClient(create_app(bootstrap(tuned))) as client:
        yield client


@pytest.fixture
def small_limits(settings: Settings) -> Iterator[Client]:
    yield from _client_with(
        settings,
        RATE_LIMIT_HEARTBEAT_PER_MIN="3",
        RATE_LIMIT_ADMIN_PER_MIN="4",
        RATE_LIMIT_GLOBAL_PER_MIN="30",
    )


def test_the_eleventh_registration_in_a_minute_from_one_ip_is_429_with_retry_after(client: Client) -> None:
    secret = {"Authorization": f"Bearer {client.app.state.services.settings.agent_secret}"}
    answers = []
    for i in range(11):
        body = {"vendorId": f"v{i}", "agentUrl": "https://agent.example/a", "authToken": agent_token()}
        answers.append(client.post("/api/agents/register", json=body, headers=secret))
    assert [r.status_code for r in answers[:10]] == [201] * 10
    refused = answers[10]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "'register'" in refused.json()["detail"]
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_heartbeats_are_limited_per_agent_not_per_ip(small_limits: Client) -> None:
    a = register_agent(small_limits, "a")
    b = register_agent(small_limits, "b")
    assert [small_limits.post("/api/agents/heartbeat", headers=a).status_code for _ in range(4)] == [200] * 3 + [429]
    assert small_limits.post("/api/agents/heartbeat", headers=b).status_code == 200
    assert "'heartbeat'" in small_limits.post("/api/agents/heartbeat", headers=a).json()["detail"]


def test_admin_calls_are_limited_per_api_key(small_limits: Client) -> None:
    admin = admin_headers(small_limits)
    codes = [small_limits.get("/api/admin/agents", headers=admin).status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]


def test_the_global_limit_covers_every_route_but_get_health(settings: Settings) -> None:
    for client in _client_with(settings, RATE_LIMIT_GLOBAL_PER_MIN="3"):
        admin = admin_headers(client)
        codes = [client.get("/api/admin/agents", headers=admin).status_code for _ in range(4)]
        assert codes == [200] * 3 + [429]
        assert "'global'" in client.get("/api/admin/agents", headers=admin).json()["detail"]
        assert client.post("/api/agents/heartbeat").status_code == 429  # even unauthenticated
        assert [client.get("/health").status_code for _ in range(5)] == [200] * 5


def test_api_processes_share_one_count(settings: Settings) -> None:
    for first in _client_with(settings, RATE_LIMIT_ADMIN_PER_MIN="4"):
        for second in _client_with(settings, RATE_LIMIT_ADMIN_PER_MIN="4"):
            admin = admin_headers(first)
            codes = [c.get("/api/admin/agents", headers=admin).status_code for c in (first, second) * 3]
            assert codes == [200] * 4 + [429, 429]


def test_rate_limits_can_be_switched_off(settings: Settings) -> None:
    for client in _client_with(settings, RATE_LIMITS_ENABLED="false", RATE_LIMIT_GLOBAL_PER_MIN="2"):
        admin = admin_headers(client)
        assert {client.get("/api/admin/agents", headers=admin).status_code for _ in range(5)} == {200}
