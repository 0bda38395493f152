"""Failed authentications are counted per IP and per vendor in the real Redis, and throttled (REQ-13)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.logging import configure_logging
from restosync_adapters.redis.rate_limiter import RedisAuthThrottle, RedisRateLimiter
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import REDIS_URL, make_settings
from tests.integration.agent_helpers import admin_headers, register_agent

Client = TestClient  # type: ignore[type-arg]


def _client(settings: Settings, **env: str) -> Iterator[Client]:
    tuned = make_settings(settings.database_url, settings.redis_prefix, **env)
    with TestClient(create_app(bootstrap(tuned))) as client:
        yield client


@pytest.fixture
def strict(settings: Settings) -> Iterator[Client]:
    yield from _client(settings, AUTH_FAILURES_PER_IP="5", AUTH_FAILURES_PER_VENDOR="3",
                       RATE_LIMIT_GLOBAL_PER_MIN="1000", RATE_LIMIT_ADMIN_PER_MIN="1000")


ORDER = {"vendorId": "v1", "orderNumber": "A-1", "lines": [{"sku": "S", "quantity": "1", "unitPrice": "2"}]}


def test_an_address_with_too_many_wrong_keys_gets_429_on_every_route_but_health(strict: Client) -> None:
    wrong = {"X-API-Key": "not-the-key"}
    answers = [strict.post("/api/orders", json=ORDER, headers=wrong).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]  # today's 401 forever is gone

    refused = strict.get("/api/admin/agents", headers=admin_headers(strict))  # even with the right key now
    assert refused.status_code == 429
    assert "AUTH_FAILURES_PER_IP" in refused.json()["detail"] and "5 per 300 s" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert strict.post("/api/agents/heartbeat", headers={"Authorization": "Bearer x" * 40}).status_code == 429
    assert strict.get("/health").status_code in (200, 503)  # monitoring is never throttled


def test_registration_and_agent_failures_count_against_the_address_too(strict: Client) -> None:
    for _ in range(3):
        assert strict.post("/api/agents/register", json={}, headers={"Authorization": "Bearer nope"}).status_code == 401
    for _ in range(2):
        assert strict.post("/api/agents/heartbeat").status_code == 401  # no token at all
    assert strict.get("/api/admin/agents", headers=admin_headers(strict)).status_code == 429


def test_a_vendor_named_by_too_many_wrong_tokens_refuses_uncached_tokens_but_its_agent_keeps_working(
    settings: Settings,
) -> None:
    for client in _client(settings, AUTH_FAILURES_PER_IP="100", AUTH_FAILURES_PER_VENDOR="3",
                          RATE_LIMIT_GLOBAL_PER_MIN="1000", RATE_LIMIT_HEARTBEAT_PER_MIN="1000"):
        agent = register_agent(client, "v1")
        assert client.post("/api/agents/heartbeat", headers=agent).status_code == 200  # its token is cached now
        attacker = {"Authorization": "Bearer " + "w" * 40, "X-Vendor-ID": "v1"}
        answers = [client.post("/api/agents/heartbeat", headers=attacker).status_code for _ in range(4)]
        assert answers == [401, 401, 401, 429]
        refused = client.post("/api/agents/heartbeat", headers=attacker)
        assert "AUTH_FAILURES_PER_VENDOR" in refused.json()["detail"] and "vendor v1" in refused.json()["detail"]
        assert client.post("/api/agents/heartbeat", headers=agent).status_code == 200  # the real agent: cached
        other = register_agent(client, "v2")
        assert client.post("/api/agents/heartbeat", headers=other).status_code == 200  # another vendor: untouched


def test_failures_of_one_address_do_not_throttle_another() -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        prefix = f"restosync-test-throttle-{uuid.uuid4().hex[:8]}"
        limiter = RedisRateLimiter(client, prefix)
        throttle = RedisAuthThrottle(client, limiter, per_ip=2, per_vendor=2, window_seconds=60)
        try:
            for _ in range(2):
                await throttle.failed("10.0.0.1", "v1")
            assert not (await limiter.hit([throttle.ip_gate("10.0.0.1")])).allowed
            assert (await limiter.hit([throttle.ip_gate("10.0.0.2")])).allowed
            assert await throttle.vendor_throttled("v1") is not None
            assert await throttle.vendor_throttled("v2") is None
        finally:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    asyncio.run(scenario())


def test_with_redis_unreachable_nothing_is_throttled_and_nothing_fails(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
        throttle = RedisAuthThrottle(client, RedisRateLimiter(client, "x"), per_ip=1, per_vendor=1, window_seconds=60)
        await throttle.failed("10.0.0.1", "v1")  # fails open: logged, not raised
        assert await throttle.vendor_throttled("v1") is None
        await client.aclose()

    asyncio.run(scenario())
    assert "could not count a failed authentication" in caplog.text


def test_a_bad_admin_key_is_logged_without_the_key(strict: Client, capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    key = "a-wrong-admin-key-" + uuid.uuid4().hex
    assert strict.get("/api/admin/agents", headers={"X-API-Key": key}).status_code == 401
    logs = capfd.readouterr().err
    assert "admin authentication failed" in logs and "testclient" in logs
    assert key not in logs


def test_the_callback_endpoint_has_a_per_agent_limit(settings: Settings) -> None:
    for client in _client(settings, RATE_LIMIT_CALLBACK_PER_MIN="3", RATE_LIMIT_GLOBAL_PER_MIN="1000"):
        agent = register_agent(client, "v1")
        body = {"jobId": str(uuid.uuid4()), "status": "completed", "erpReference": "E-1"}
        answers = [client.post("/api/agents/callback", json=body, headers=agent) for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [404] * 3  # no such job: counted all the same
        assert answers[3].status_code == 429 and "'callback'" in answers[3].json()["detail"]
        other = register_agent(client, "v2")
        assert client.post("/api/agents/callback", json=body, headers=other).status_code == 404  # per agent
