"""Reconciliation over HTTP: the real app, PostgreSQL and Redis, an RQ worker, and the test agent's ERP.

An agent registers and pushes its ERP's rows through the API; the ERP then
changes behind its back; an admin triggers a run over HTTP; a worker (the real
RQ worker class, in this process) takes it from the ``reconciliation`` queue and
calls the test agent over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.queues import rq_queue_name
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from restosync_worker.cron import run_scheduled_task
from tests.conftest import make_settings
from tests.erp_simulator import ErpSimulator, item_json, make_item, make_stock, stock_json
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import admin_headers, register_agent
from tests.integration.ingest.helpers import insert_mappings, rows_of
from tests.integration.maintenance.conftest import FakeSlack
from tests.integration.orders.conftest import Worker
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

FAST = {
    "RATE_LIMITS_ENABLED": "false",
    "AGENT_TIMEOUT_SECONDS": "2",
    "BREAKER_RESET_TIMEOUT_SECONDS": "60",
    "BREAKER_VOLUME_THRESHOLD": "2",
    "RECONCILIATION_MAX_CHANGE_MIN_ROWS": "6",
}
VENDOR = "acme"
WAREHOUSES = ("WH-1", "WH-2")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    hook = FakeSlack().start()
    yield hook
    hook.stop()


@pytest.fixture
def recon_settings(clean_db: str, redis_ns: str, slack: FakeSlack) -> Settings:
    return make_settings(clean_db, redis_ns, SLACK_WEBHOOK_URL=slack.url, **FAST)


@pytest.fixture
def api(recon_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(bootstrap(recon_settings))) as client:
        yield client


@pytest.fixture
def erp() -> ErpSimulator:
    simulator = ErpSimulator()
    simulator.fill(60, warehouses=WAREHOUSES)
    return simulator


@pytest.fixture
def agent(erp: ErpSimulator) -> Iterator[FakeAgent]:
    fake = FakeAgent(erp=erp).start()
    yield fake
    fake.stop()


@pytest.fixture
def worker(recon_settings: Settings) -> Iterator[Worker]:
    w = Worker(recon_settings)
    yield w
    w.close()


class Vendor:
    """A vendor whose agent registered over HTTP and pushed everything its ERP holds."""

    def __init__(self, api: TestClient, settings: Settings, agent: FakeAgent, erp: ErpSimulator,  # type: ignore[type-arg]
                 vendor: str = VENDOR) -> None:
        self.api, self.settings, self.agent, self.erp, self.id = api, settings, agent, erp, vendor
        insert_mappings(settings.database_url, vendor, [("unit", "KG", "kg"), ("vat", "TVA20", "vat-20")])
        self.headers = register_agent(api, vendor, agent)
        self.push_all()

    def push(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(path, json=body, headers=self.headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def push_all(self) -> None:
        warehouses = [{"warehouseId": w, "name": w, "updatedAt": "2026-01-01T08:00:00+00:00"} for w in WAREHOUSES]
        self.push("/api/sync/warehouses", {"warehouses": warehouses})
        assert self.push("/api/sync/items/batch", {"items": [item_json(i) for i in self.erp.items]})["failed"] == 0
        assert self.push("/api/sync/stock/batch", {"stock": [stock_json(s) for s in self.erp.stock]})["failed"] == 0

    def trigger(self, entity: str = "all", *, confirm: bool = False) -> Any:
        return self.api.post(
            "/api/admin/reconciliation/trigger",
            json={"vendorId": self.id, "entity": entity, "confirm": confirm}, headers=admin_headers(self.api),
        )

    def run(self, worker: Worker, entity: str = "all", *, confirm: bool = False) -> dict[str, Any]:
        """Trigger over HTTP, let the worker run it, answer the finished run as the API shows it."""
        response = self.trigger(entity, confirm=confirm)
        assert response.status_code == 202, response.text
        return self.finished(worker, response.json()["runId"])

    def finished(self, worker: Worker, run_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            run = self.api.get(f"/api/admin/reconciliation/runs/{run_id}", headers=admin_headers(self.api)).json()
            return run if run["status"] not in ("queued", "running") else None

        run: dict[str, Any] = worker.until(done, 30, f"reconciliation run {run_id} finished")
        return run

    def events(self, **filters: str) -> list[dict[str, Any]]:
        response = self.api.get("/api/admin/reconciliation/events", params={"limit": "100", **filters},
                                headers=admin_headers(self.api))
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def live_items(self) -> dict[str, dict[str, Any]]:
        rows = rows_of(self.settings.database_url,
                       "SELECT * FROM items WHERE vendor_id = %s AND deactivated_at IS NULL", self.id)
        return {r["sku"]: r for r in rows}


def entity_figures(run: dict[str, Any], entity: str) -> dict[str, Any]:
    figures: dict[str, Any] = next(e for e in run["summary"]["entities"] if e["entity"] == entity)
    return figures


def test_drift_of_every_kind_is_found_and_repaired(api: TestClient, recon_settings: Settings,  # type: ignore[type-arg]
                                                  agent: FakeAgent, erp: ErpSimulator, worker: Worker) -> None:
    v = Vendor(api, recon_settings, agent, erp)
    erp.change_item("SKU-000003", price=Decimal("99.5"))       # changed
    erp.remove_item("SKU-000007")                                # missing from the ERP
    erp.put_item(make_item("NEW-1", price=Decimal("3")))       # extra in the ERP
    erp.change_stock("SKU-000010", "WH-1", Decimal("1"))       # stock changed
    erp.remove_stock("SKU-000011", "WH-2")                      # stock missing from the ERP
    erp.put_stock(make_stock("NEW-1", "WH-1", Decimal("8")))   # stock extra (of the new item)

    run = v.run(worker)

    assert run["status"] == "completed", run
    items, stock = entity_figures(run, "items"), entity_figures(run, "stock")
    assert (items["driftFound"], items["inserted"], items["updated"], items["deactivated"]) == (3, 1, 1, 1)
    assert (stock["driftFound"], stock["inserted"], stock["updated"], stock["deactivated"]) == (3, 1, 1, 1)
    repaired = {
        (e["entity"], e["summary"]["key"]["sku"], e["summary"]["action"])
        for e in v.events(runId=run["id"], eventType="conflict_resolved")
    }
    assert repaired == {
        ("items", "SKU-000003", "updated"), ("items", "SKU-000007", "deactivated"), ("items", "NEW-1", "inserted"),
        ("stock", "SKU-000010", "updated"), ("stock", "SKU-000011", "deactivated"), ("stock", "NEW-1", "inserted"),
    }
    own = v.events(runId=run["id"], entity="all")  # the run's own event carries its scope
    assert [(e["eventType"], e["summary"]["driftFound"]) for e in own] == [("drift_detected", 6)]
    live = v.live_items()
    assert live["SKU-000003"]["price"] == Decimal("99.5")
    assert "SKU-000007" not in live and "NEW-1" in live
    kept = rows_of(recon_settings.database_url, "SELECT active, deactivated_at FROM items WHERE sku = 'SKU-000007'")
    assert kept[0]["active"] is False and kept[0]["deactivated_at"] is not None  # never deleted
    # a second run finds nothing: both sides agree
    again = v.run(worker)
    assert again["summary"]["driftFound"] == 0 and again["summary"]["agentCalls"] == 2


def test_a_push_during_a_run_is_not_overwritten(api: TestClient, recon_settings: Settings,  # type: ignore[type-arg]
                                               agent: FakeAgent, erp: ErpSimulator, worker: Worker) -> None:
    v = Vendor(api, recon_settings, agent, erp)
    old = erp.change_item("SKU-000005", price=Decimal("5"))
    newer = item_json(make_item("SKU-000005", price=Decimal("6"), updated_at=old.updated_at.replace(hour=23)))
    pushed = threading.Event()

    def push_mid_run(kind: str, entity: str, rng: Any) -> None:
        if kind == "rows" and not pushed.is_set():
            pushed.set()  # the agent pushes a newer change while the run fetches the row
            assert v.push("/api/sync/items", {"items": [newer]})["processed"] == 1

    erp.before_answer = push_mid_run
    run = v.run(worker, "items")
    erp.before_answer = None

    assert pushed.is_set()
    assert run["status"] == "completed"
    assert entity_figures(run, "items")["leftToNewerPush"] == 1
    assert v.live_items()["SKU-000005"]["price"] == Decimal("6")


def test_a_run_over_the_blast_radius_changes_nothing_alerts_then_runs_after_confirm(
    api: TestClient, recon_settings: Settings, agent: FakeAgent, erp: ErpSimulator,  # type: ignore[type-arg]
    worker: Worker, slack: FakeSlack,
) -> None:
    v = Vendor(api, recon_settings, agent, erp)
    for i in range(8):  # 8 of 60 items: over max(5 % of 60, 6)
        erp.change_item(f"SKU-{i:06d}", price=Decimal("0.5"))
    before = v.live_items()

    stopped = v.run(worker, "items")

    assert stopped["status"] == "stopped"
    assert "would change 8 of 60 items rows" in stopped["summary"]["reason"]
    assert len(stopped["summary"]["samples"]) == 8
    assert v.live_items() == before
    # the alert service logged it and told Slack (once per window)
    texts = wait_until(lambda: slack.texts(), 10, "the reconciliation_drift alert posted to Slack")
    assert len(texts) == 1 and "reconciliation drift" in texts[0].lower() and "8 of 60 items" in texts[0], texts

    confirmed = v.run(worker, "items", confirm=True)
    assert confirmed["status"] == "completed" and confirmed["confirmed"] is True
    assert entity_figures(confirmed, "items")["repaired"] == 8
    assert v.live_items()["SKU-000001"]["price"] == Decimal("0.5")


def test_an_agent_that_is_down_skips_the_run_and_counts_on_its_breaker(
    api: TestClient, recon_settings: Settings, agent: FakeAgent, erp: ErpSimulator, worker: Worker,  # type: ignore[type-arg]
) -> None:
    v = Vendor(api, recon_settings, agent, erp)
    agent.fail_with(503)

    runs = [v.run(worker, "items") for _ in range(2)]

    assert [r["status"] for r in runs] == ["skipped", "skipped"]
    assert "503" in runs[0]["summary"]["reason"]
    status = api.get("/api/admin/circuit-breaker/status", headers=admin_headers(api)).json()
    breakers = {b["key"]: b for b in (status["data"] if isinstance(status, dict) and "data" in status else status)}
    assert breakers[f"{VENDOR}:items"]["state"] == "open"
    calls = len(agent.requests)
    third = v.run(worker, "items")
    assert third["status"] == "skipped" and "breaker is open" in third["summary"]["reason"]
    assert len(agent.requests) == calls  # not called while the breaker is open


def test_two_triggers_at_once_make_one_run(api: TestClient, recon_settings: Settings,  # type: ignore[type-arg]
                                          agent: FakeAgent, erp: ErpSimulator) -> None:
    v = Vendor(api, recon_settings, agent, erp)
    answers: list[Any] = []
    barrier = threading.Barrier(4)

    def trigger() -> None:
        barrier.wait()
        answers.append(v.trigger())

    threads = [threading.Thread(target=trigger) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["runId"] for a in answers}) == 1
    assert sorted(a.json()["created"] for a in answers) == [False, False, False, True]
    runs = rows_of(recon_settings.database_url, "SELECT id FROM reconciliation_runs WHERE vendor_id = %s", VENDOR)
    assert len(runs) == 1


def test_the_hourly_check_queues_one_run_per_online_vendor(
    api: TestClient, recon_settings: Settings, agent: FakeAgent, erp: ErpSimulator, worker: Worker,  # type: ignore[type-arg]
) -> None:
    Vendor(api, recon_settings, agent, erp, "acme")
    Vendor(api, recon_settings, agent, erp, "beta")
    register_agent(api, "gone", agent)
    rows_of(recon_settings.database_url,
            "UPDATE agent_registry SET status = 'offline' WHERE vendor_id = 'gone' RETURNING vendor_id")
    services = worker.services

    result = worker.runtime.run(run_scheduled_task("detect-drift", services))

    assert str(result).startswith("2 run(s) queued")
    queued = rows_of(recon_settings.database_url,
                     "SELECT vendor_id, trigger, scope FROM reconciliation_runs ORDER BY vendor_id")
    assert [(r["vendor_id"], r["trigger"], r["scope"]) for r in queued] == [
        ("acme", "schedule", "all"), ("beta", "schedule", "all")
    ]
    queue = rq_queue_name(recon_settings.redis_prefix, "reconciliation")
    assert services.sync_redis.llen(f"rq:queue:{queue}") == 2
    # the same tick again does nothing; the worker runs both
    assert worker.runtime.run(run_scheduled_task("detect-drift", services)) == "skipped"
    wait_until(lambda: (worker.burst(), rows_of(
        recon_settings.database_url,
        "SELECT count(*) AS n FROM reconciliation_runs WHERE status = 'completed'")[0]["n"] == 2)[1],
        30, "both runs completed")
