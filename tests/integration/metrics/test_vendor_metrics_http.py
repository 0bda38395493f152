"""GET /api/admin/metrics/{vendorId} over HTTP after a known day: pushes, orders, a retry, a dead letter, callbacks.

Everything goes through the real endpoints, the in-process RQ worker and the
fake agent over HTTP; the API and the worker share one injected clock, so the
latencies are known to the millisecond.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_name
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from restosync_worker import runtime
from tests.conftest import make_settings
from tests.fake_agent import FakeAgent
from tests.fakes import FakeClock
from tests.integration.agent_helpers import admin_headers, register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, results, stock_json, warehouse_json
from tests.integration.orders.conftest import FAST, Worker, order_body

Client = TestClient  # type: ignore[type-arg]
VENDOR = "vendor-m"


class ClockedWorker(Worker):
    """The orders tests' in-process worker, on the test's clock."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.runtime = runtime.start(settings, clock=clock)
        self.connection = self.runtime.services.sync_redis
        self.queues = [rq_queue_name(settings.redis_prefix, q) for q in LOGICAL_QUEUES]


@pytest.fixture
def clock() -> FakeClock:
    # A minute behind real time: a retry due "now" on this clock is already due for RQ's scheduler.
    return FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))


@pytest.fixture
def metrics_settings(clean_db: str, redis_ns: str) -> Settings:
    return make_settings(clean_db, redis_ns, **FAST, AGENT_HEARTBEAT_FLUSH_SECONDS="0")


@pytest.fixture
def api(metrics_settings: Settings, clock: FakeClock) -> Iterator[Client]:
    with TestClient(create_app(bootstrap(metrics_settings, clock=clock))) as client:
        yield client


@pytest.fixture
def worker(metrics_settings: Settings, clock: FakeClock) -> Iterator[ClockedWorker]:
    w = ClockedWorker(metrics_settings, clock)
    yield w
    w.close()


def metrics(api: Client, vendor: str = VENDOR, **params: str) -> dict[str, Any]:
    response = api.get(f"/api/admin/metrics/{vendor}", params=params, headers=admin_headers(api))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def push(api: Client, headers: dict[str, str], entity: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    response = api.post(f"/api/sync/{entity}", json={entity: rows}, headers=headers)
    assert response.status_code == 200, response.text
    return results(response)


def place(api: Client, number: str) -> str:
    response = api.post("/api/orders", json=order_body(VENDOR, number), headers=admin_headers(api))
    assert response.status_code == 201, response.text
    job_id: str = response.json()["syncJobId"]
    return job_id


def job_status(api: Client, job_id: str) -> str:
    status: str = api.get(f"/api/admin/sync-status/{job_id}", headers=admin_headers(api)).json()["job"]["status"]
    return status


def callback(api: Client, headers: dict[str, str], job_id: str, reference: str) -> None:
    body = {"jobId": job_id, "status": "completed", "erpReference": reference}
    response = api.post("/api/agents/callback", json=body, headers=headers)
    assert response.status_code == 200, response.text


def outcomes(**rows: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {outcome: {"pushes": pushes, "rows": n} for outcome, (pushes, n) in rows.items()}


def pushes_of_the_day(api: Client, headers: dict[str, str], metrics_settings: Settings) -> None:
    insert_mappings(metrics_settings.database_url, VENDOR)
    assert push(api, headers, "warehouses", [warehouse_json("W1"), warehouse_json("W2")]) == [
        ("W1", "processed", None), ("W2", "processed", None)]
    assert push(api, headers, "items", [item_json("A", minute=10), item_json("B", minute=10),
                                        item_json("C", minute=10, unitCode="LB")]) == [
        ("A", "processed", None), ("B", "processed", None), ("C", "failed", "unmapped_unit")]
    assert push(api, headers, "items", [item_json("A", minute=10), item_json("B", minute=5, name="older"),
                                        item_json("D", minute=10), item_json("D", minute=11)]) == [
        ("A", "skipped", "unchanged"), ("B", "skipped", "stale"),
        ("D", "skipped", "duplicate_in_request"), ("D", "processed", None)]
    assert push(api, headers, "stock", [stock_json("A", "W1"), stock_json("Z", "W1"), stock_json("A", "W9")]) == [
        ("A", "W1", "processed", None), ("Z", "W1", "failed", "unknown_item"),
        ("A", "W9", "failed", "unknown_warehouse")]


def test_the_metrics_count_a_known_day_of_pushes_orders_retries_dead_letters_and_callbacks(
    api: Client, worker: ClockedWorker, agent: FakeAgent, clock: FakeClock, metrics_settings: Settings
) -> None:
    headers = register_agent(api, VENDOR, agent, version="2.0.1")
    other = register_agent(api, "vendor-x", agent)
    pushes_of_the_day(api, headers, metrics_settings)
    push(api, other, "warehouses", [warehouse_json("W1")])  # another vendor's push: not ours

    # A: accepted at once, called back 2 s after it was placed
    a = place(api, "A-1")
    worker.until(lambda: agent.order_count >= 1, 20, "the agent to receive order A")
    clock.advance(seconds=2)
    callback(api, headers, a, "ERP-A")
    # B: the agent fails it (500), the retry is accepted 1 s after placing, called back 4 s after placing
    agent.fail_with(500)
    b = place(api, "B-1")
    worker.until(lambda: agent.order_count >= 2, 20, "the agent to receive order B")
    assert job_status(api, b) == "pending"
    agent.accept()
    clock.advance(seconds=1)
    worker.sweep()
    worker.until(lambda: job_status(api, b) == "sent", 20, "the retry of order B to be accepted")
    clock.advance(seconds=3)
    callback(api, headers, b, "ERP-B")
    # C: refused for good (400): a dead letter; D: placed, never delivered yet
    agent.fail_with(400)
    c = place(api, "C-1")
    worker.until(lambda: job_status(api, c) == "failed", 20, "order C to be dead-lettered")
    place(api, "D-1")
    assert api.post("/api/agents/heartbeat", json={}, headers=headers).status_code == 200

    got = metrics(api, window="1h")

    assert (got["vendorId"], got["window"]) == (VENDOR, "1h")
    assert {k: got[k] for k in ("total", "pending", "completed", "failed")} == {
        "total": 4, "pending": 1, "completed": 2, "failed": 1}
    assert got["successRate"] == pytest.approx(2 / 3) and got["retryRate"] == pytest.approx(1 / 4)
    assert got["avgLatency"] == pytest.approx(3000)  # (2000 + 4000) / 2
    deliveries = got["deliveries"]
    assert deliveries["byStatus"] == {"pending": 1, "processing": 0, "sent": 0, "completed": 2, "failed": 1}
    assert deliveries["retried"] == 1 and deliveries["completedKeptSince"] is None
    # accepted 0 ms (A) and 1000 ms (B, its retry) after placing; C was refused, never accepted
    assert deliveries["latencyMs"]["toAccepted"] == pytest.approx({"samples": 2, "p50": 500, "p95": 950, "p99": 990})
    assert deliveries["latencyMs"]["toCallback"] == pytest.approx(
        {"samples": 2, "p50": 3000, "p95": 3900, "p99": 3980})

    ingest = got["ingest"]
    assert ingest["items"] == {
        "pushes": 2, "rows": 7, "processed": 3, "skipped": 3, "failed": 1,
        "byOutcome": outcomes(processed=(2, 3), unchanged=(1, 1), stale=(1, 1), duplicate_in_request=(1, 1),
                              unmapped_unit=(1, 1), unmapped_vat=(0, 0)),
    }
    assert ingest["stock"] == {
        "pushes": 1, "rows": 3, "processed": 1, "skipped": 0, "failed": 2,
        "byOutcome": outcomes(processed=(1, 1), unchanged=(0, 0), stale=(0, 0), duplicate_in_request=(0, 0),
                              unknown_item=(1, 1), unknown_warehouse=(1, 1)),
    }
    assert ingest["warehouses"] == {
        "pushes": 1, "rows": 2, "processed": 2, "skipped": 0, "failed": 0,
        "byOutcome": outcomes(processed=(1, 2), unchanged=(0, 0), stale=(0, 0), duplicate_in_request=(0, 0)),
    }
    assert got["deadLetters"] == {"open": 1, "openedInWindow": 1}
    assert got["breaker"]["state"] == "closed"
    assert [(b["key"], b["failures"]) for b in got["breaker"]["breakers"]] == [(f"{VENDOR}:orders", 1)]
    now = clock.now()
    assert got["agent"]["status"] == "online" and got["agent"]["version"] == "2.0.1"
    assert datetime.fromisoformat(got["agent"]["lastHeartbeatAt"]) == now
    assert datetime.fromisoformat(got["until"]) == now and datetime.fromisoformat(got["since"]) == now - timedelta(
        hours=1)

    # Two hours on: the last hour holds nothing of it; the last day holds it all; the letter is still open.
    clock.advance(hours=2)
    later = metrics(api, window="1h")
    assert (later["total"], later["successRate"], later["retryRate"], later["avgLatency"]) == (0, None, None, None)
    assert later["ingest"]["items"]["pushes"] == 0 and later["deliveries"]["latencyMs"]["toCallback"] == {
        "samples": 0, "p50": None, "p95": None, "p99": None}
    assert later["deadLetters"] == {"open": 1, "openedInWindow": 0}
    assert later["agent"]["status"] == "offline"
    day = metrics(api)  # the default window: 24h
    assert day["window"] == "24h" and day["total"] == 4 and day["ingest"]["items"]["rows"] == 7
    assert metrics(api, "vendor-x")["ingest"]["warehouses"]["pushes"] == 1


def test_a_bad_window_is_a_400_naming_it_and_no_key_is_a_401(api: Client) -> None:
    bad = api.get(f"/api/admin/metrics/{VENDOR}", params={"window": "2d"}, headers=admin_headers(api))
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["path"] == "window" and "1h, 24h, 7d" in bad.json()["detail"]
    bad_vendor = api.get("/api/admin/metrics/no%20spaces", headers=admin_headers(api))
    assert bad_vendor.status_code == 400 and bad_vendor.json()["errors"][0]["path"] == "vendorId"
    for headers in ({}, {"X-API-Key": "wrong"}):
        denied = api.get(f"/api/admin/metrics/{VENDOR}", headers=headers)
        assert denied.status_code == 401 and denied.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_vendor_answers_zeros_and_nulls_and_both_metrics_routes_are_reached(api: Client) -> None:
    empty = metrics(api, "nobody", window="7d")
    assert (empty["total"], empty["successRate"], empty["agent"], empty["breaker"]) == (
        0, None, None, {"state": "closed", "breakers": []})
    assert empty["deliveries"]["completedKeptSince"] is not None  # 7 d is longer than completed jobs are kept
    # A vendor literally named "reconciliation" has its sync metrics; one level deeper is reconciliation's route.
    assert metrics(api, "reconciliation")["vendorId"] == "reconciliation"
    recon = api.get(f"/api/admin/metrics/reconciliation/{VENDOR}", headers=admin_headers(api))
    assert recon.status_code == 200 and "eventCount" in recon.json()
