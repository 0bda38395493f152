"""What a scrape reads at its own time (queues, dead letters, breakers, agents), and how it rides out failures."""

from __future__ import annotations

import asyncio
import contextlib
import json

import psycopg
import pytest
import redis
import redis.asyncio as aioredis
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from restosync_adapters.bootstrap import bootstrap, breaker_policy
from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.queues import IMAGE_SYNC, ORDER_SYNC, RECONCILIATION
from restosync_adapters.rq_queue import make_queue
from restosync_adapters.settings import Settings
from restosync_core.errors import AgentUnavailable, CircuitOpen
from restosync_core.model.delivery import BreakerKey
from restosync_core.model.ids import VendorId
from restosync_core.ports.clock import SystemClock
from restosync_http.app import create_app
from tests.conftest import REDIS_URL, make_settings
from tests.integration.agent_helpers import register_agent
from tests.integration.prometheus.conftest import Scrape, scrape

Client = TestClient  # type: ignore[type-arg]
CLOSED_PORT = 1
SOURCES = ("queues", "dead_letters", "breakers", "agents")


def _sql(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]  # a test's own literal statements


async def _trip(settings: Settings, vendor: str) -> None:
    """Fail calls through the real breaker until it opens (the policy's volume and share of failures)."""
    client = aioredis.from_url(settings.redis_url)
    breaker = RedisCircuitBreaker(client, settings.redis_prefix, breaker_policy(settings), SystemClock())

    async def down() -> None:
        raise AgentUnavailable("the agent is down")

    try:
        for _ in range(settings.breaker_volume_threshold + 1):
            with contextlib.suppress(AgentUnavailable, CircuitOpen):
                await breaker.call(BreakerKey(VendorId(vendor), "orders"), down)
    finally:
        await client.aclose()


def test_gauges_count_waiting_jobs_open_dead_letters_breakers_and_agents_by_status(
    api: Client, metrics_settings: Settings
) -> None:
    url, prefix = metrics_settings.database_url, metrics_settings.redis_prefix
    for vendor in ("v-online", "v-degraded", "v-offline", "v-fine"):
        register_agent(api, vendor)
    silent = "UPDATE agent_registry SET last_heartbeat_at = now() - interval '{}' WHERE vendor_id = '{}'"
    _sql(url, silent.format("2 minutes", "v-degraded"))
    _sql(url, silent.format("10 minutes", "v-offline"))
    payload = json.dumps({"orderNumber": "N"})
    for resolved in ("false", "false", "true"):
        _sql(url, "INSERT INTO dead_letter_queue (vendor_id, job_type, payload, attempts, resolved) "
                  f"VALUES ('v-online', 'order', '{payload}', 5, {resolved})")
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(2):
            make_queue(connection, prefix, IMAGE_SYNC).enqueue("time.sleep", 0)
    finally:
        connection.close()
    asyncio.run(_trip(metrics_settings, "v-offline"))

    s = scrape(api)
    assert all(s.value("restosync_scrape_source_up", source=name) == 1 for name in SOURCES)
    assert s.value("restosync_queue_depth", queue=IMAGE_SYNC) == 2
    assert s.value("restosync_queue_depth", queue=ORDER_SYNC) == 0
    assert s.value("restosync_queue_depth", queue=RECONCILIATION) == 0
    assert s.value("restosync_dead_letters_open") == 2
    assert s.series("restosync_circuit_breaker_state") == [{"vendor": "v-offline", "api_type": "orders"}]
    assert s.value("restosync_circuit_breaker_state", vendor="v-offline", api_type="orders") == 2
    assert [s.value("restosync_agents", status=status) for status in ("online", "degraded", "offline")] == [2, 1, 1]


def _down_app(settings: Settings) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(bootstrap(settings)))


def test_a_database_that_is_down_leaves_its_gauges_out_and_the_rest_answers(
    clean_db: str, redis_ns: str, metrics_dir: str
) -> None:
    settings = make_settings(
        f"postgresql://root@127.0.0.1:{CLOSED_PORT}/nowhere", redis_ns, RATE_LIMITS_ENABLED="false",
        METRICS_DIR=metrics_dir,
    )
    with _down_app(settings) as api:
        s = scrape(api)
    assert [s.value("restosync_scrape_source_up", source=name) for name in SOURCES] == [1, 0, 1, 0]
    assert "restosync_dead_letters_open" not in s.families and "restosync_agents" not in s.families
    assert s.value("restosync_queue_depth", queue=ORDER_SYNC) == 0 and "restosync_queue_depth" in s.families
    assert s.value("restosync_scrape_errors_total", source="dead_letters") == 1
    assert s.value("restosync_scrape_errors_total", source="agents") == 1


@pytest.mark.timeout(60)
def test_with_postgres_and_redis_down_a_scrape_still_answers_200_and_counts_each_failure(
    redis_ns: str, metrics_dir: str
) -> None:
    settings = make_settings(
        f"postgresql://root@127.0.0.1:{CLOSED_PORT}/nowhere", redis_ns, RATE_LIMITS_ENABLED="false",
        REDIS_URL=f"redis://127.0.0.1:{CLOSED_PORT}/0", METRICS_DIR=metrics_dir,
    )
    with _down_app(settings) as api:
        api.get("/health")
        first, second = scrape(api), scrape(api)
    for s, times in ((first, 1), (second, 2)):
        assert all(s.value("restosync_scrape_source_up", source=name) == 0 for name in SOURCES)
        assert all(s.value("restosync_scrape_errors_total", source=name) == times for name in SOURCES)
    assert set(second.families) >= {"restosync_http_requests", "restosync_scrape_source_up"}
    assert not {"restosync_queue_depth", "restosync_dead_letters_open", "restosync_agents",
                "restosync_circuit_breaker_state"} & set(second.families)
    assert second.value("restosync_http_requests_total", method="GET", route="/health", status="503") == 1


def test_scrape_time_values_are_never_written_to_the_metrics_dir(api: Client, metrics_dir: str) -> None:
    scrape(api)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
    names = set(Scrape(generate_latest(registry).decode()).families)
    assert names.isdisjoint({"restosync_queue_depth", "restosync_dead_letters_open", "restosync_agents",
                             "restosync_circuit_breaker_state", "restosync_scrape_source_up"}), names
    assert "restosync_http_requests" in names
