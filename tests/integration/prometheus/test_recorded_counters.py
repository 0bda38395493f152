"""Counters recorded where things happen: rows pushed, deliveries in the worker, and every process summed."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from litestar.testing import TestClient

from restosync_adapters import prometheus
from restosync_adapters.settings import Settings
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, stock_json, warehouse_json
from tests.integration.orders.conftest import Worker, order_body
from tests.integration.prometheus.conftest import admin, scrape

Client = TestClient  # type: ignore[type-arg]
ROOT = Path(__file__).resolve().parents[3]

ROWS = "restosync_ingest_rows_total"
DELIVERIES = "restosync_order_deliveries_total"


def test_pushes_move_the_row_counters_by_exactly_their_rows_outcomes(api: Client, metrics_settings: Settings) -> None:
    agent = register_agent(api, "v1")
    insert_mappings(metrics_settings.database_url, "v1")
    before = scrape(api)
    items = {"items": [item_json("A"), item_json("B"), item_json("C", unitCode="LITRE")]}
    assert api.post("/api/sync/items", json=items, headers=agent).status_code == 200
    again = {"items": [item_json("A"), item_json("B"), item_json("A")]}  # A twice: the first is a duplicate
    assert api.post("/api/sync/items", json=again, headers=agent).status_code == 200
    warehouses = {"warehouses": [warehouse_json("W1")]}
    assert api.post("/api/sync/warehouses/batch", json=warehouses, headers=agent).status_code == 200
    stock = {"stock": [stock_json("A", "W1"), stock_json("A", "W9"), stock_json("ZZ", "W1")]}
    assert api.post("/api/sync/stock", json=stock, headers=agent).status_code == 200
    after = scrape(api)

    def moved(entity: str, status: str, reason: str = "") -> float:
        labels = {"entity": entity, "status": status, "reason": reason}
        return after.value(ROWS, **labels) - before.value(ROWS, **labels)

    assert moved("items", "processed") == 2
    assert moved("items", "failed", "unmapped_unit") == 1
    assert moved("items", "skipped", "duplicate_in_request") == 1
    assert moved("items", "skipped", "unchanged") == 2
    assert moved("warehouses", "processed") == 1
    assert moved("stock", "processed") == 1
    assert moved("stock", "failed", "unknown_warehouse") == 1
    assert moved("stock", "failed", "unknown_item") == 1
    total = sum(after.value(ROWS, **labels) for labels in after.series(ROWS))
    assert total - sum(before.value(ROWS, **labels) for labels in before.series(ROWS)) == 10


@pytest.mark.settings(ORDER_MAX_ATTEMPTS="1")
def test_the_worker_counts_each_delivery_by_outcome(
    api: Client, agent: FakeAgent, metrics_settings: Settings
) -> None:
    register_agent(api, "vendor-1", agent)
    worker = Worker(metrics_settings)
    try:
        before = scrape(api)
        placed = api.post("/api/orders", json=order_body("vendor-1", "A-1"), headers=admin(api))
        assert placed.status_code == 201, placed.text
        worker.until(lambda: agent.order_count == 1, 20, "the agent to receive the order")
        agent.fail_with(500)
        failing = api.post("/api/orders", json=order_body("vendor-1", "A-2"), headers=admin(api))
        assert failing.status_code == 201, failing.text
        worker.until(lambda: scrape(api).value("restosync_dead_letters_open") == 1, 20, "a dead letter")
        after = scrape(api)
    finally:
        worker.close()
    assert after.value(DELIVERIES, outcome="sent") - before.value(DELIVERIES, outcome="sent") == 1
    assert after.value(DELIVERIES, outcome="dead_lettered") - before.value(DELIVERIES, outcome="dead_lettered") == 1
    assert after.value("restosync_dead_letters_open") == 1


def _record_in_a_forked_child() -> None:
    prometheus.count_delivery("deferred")
    prometheus.record_request("GET", "/health", 200, 0.02)


def test_a_scrape_sums_what_every_process_sharing_the_metrics_dir_recorded(api: Client, metrics_dir: str) -> None:
    api.get("/health")  # this process records into the directory from its first request on
    before = scrape(api)
    code = textwrap.dedent(f"""
        from restosync_adapters import prometheus
        prometheus.use_metrics_dir({metrics_dir!r})  # as a worker's or an API's start does
        for _ in range(3):
            prometheus.count_delivery("sent")
        prometheus.record_request("GET", "/health", 200, 0.01)
        prometheus.record_request("GET", "/health", 200, 0.01)
    """)
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": metrics_dir, "METRICS_DIR": metrics_dir}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    child = multiprocessing.get_context("fork").Process(target=_record_in_a_forked_child)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    after = scrape(api)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved(DELIVERIES, outcome="sent") == 3
    assert moved(DELIVERIES, outcome="deferred") == 1
    assert moved("restosync_http_requests_total", method="GET", route="/health", status="200") == 3
    files = sorted(p.name for p in Path(metrics_dir).iterdir())
    assert len({name.split("_", 1)[1] for name in files}) == 3, files  # this process, the subprocess, the child
    assert f"counter_{prometheus.process_id(child.pid)}.db" in files  # the name forget_process(pid) looks for


def test_two_processes_with_the_same_pid_in_different_containers_name_their_files_apart() -> None:
    code = "from restosync_adapters.prometheus import process_id; print(process_id(1))"
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           timeout=60).stdout.strip()
    assert other.startswith("1-") and prometheus.process_id(1).startswith("1-")
    assert other != prometheus.process_id(1)
