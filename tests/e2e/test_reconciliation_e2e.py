"""The spec's scenario 10 end to end: drift found by the scheduled check and repaired, nobody asking.

``restosync run`` (API, order workers, reconciliation workers, scheduler) with
drift detection every 3 seconds instead of every hour; the test agent serves an
ERP over real HTTP. The agent pushes its catalogue, the ERP then changes behind
its back (a price, a row gone, a new row, a stock figure), and the system must
bring the database back in line by itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from restosync_adapters.settings import Settings
from tests.e2e.conftest import wait_until
from tests.e2e.system import RedisServer, System
from tests.erp_simulator import ErpSimulator, item_json, make_item, stock_json
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import agent_token
from tests.integration.ingest.helpers import rows_of

pytestmark = pytest.mark.e2e

VENDOR = "acme"


def _push(system: System, headers: dict[str, str], path: str, body: dict[str, Any]) -> None:
    response = system.http.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["failed"] == 0, response.text


def test_the_scheduled_check_finds_drift_and_the_erp_wins(settings: Settings, own_redis: RedisServer) -> None:
    erp = ErpSimulator()
    erp.fill(200, warehouses=("WH-1",))
    agent = FakeAgent(erp=erp).start()
    system = System(settings, redis_url=own_redis.url, DRIFT_DETECTION_CRON="*/3 * * * * * *")
    try:
        system.wait_healthy()
        seeded = system.http.post("/api/admin/mappings/seed", headers=system.admin, json={"mappings": [
            {"vendorId": VENDOR, "mappingType": "unit", "erpCode": "KG", "restoCode": "kg"},
            {"vendorId": VENDOR, "mappingType": "vat", "erpCode": "TVA20", "restoCode": "vat-20"},
        ]})
        assert seeded.status_code in (200, 201), seeded.text
        token = agent_token()
        registered = system.http.post(
            "/api/agents/register", json={"vendorId": VENDOR, "agentUrl": agent.url, "authToken": token},
            headers={"Authorization": f"Bearer {settings.agent_secret}"},
        )
        assert registered.status_code in (200, 201), registered.text
        agent.trust(registered.json()["outbound"])
        headers = {"Authorization": f"Bearer {token}", "X-Vendor-ID": VENDOR}
        _push(system, headers, "/api/sync/warehouses",
              {"warehouses": [{"warehouseId": "WH-1", "name": "Main", "updatedAt": "2026-01-01T08:00:00+00:00"}]})
        _push(system, headers, "/api/sync/items/batch", {"items": [item_json(i) for i in erp.items]})
        _push(system, headers, "/api/sync/stock/batch", {"stock": [stock_json(s) for s in erp.stock]})

        erp.change_item("SKU-000042", price=Decimal("77.7"))
        erp.remove_item("SKU-000043")
        erp.put_item(make_item("LATE-1"))
        erp.change_stock("SKU-000044", "WH-1", Decimal("3"))

        def repaired() -> bool:
            items = {r["sku"]: r for r in rows_of(
                settings.database_url, "SELECT sku, price, deactivated_at FROM items WHERE vendor_id = %s", VENDOR)}
            stock = rows_of(settings.database_url,
                            "SELECT s.quantity FROM stock s JOIN items i ON i.id = s.item_id "
                            "WHERE i.sku = 'SKU-000044' AND s.vendor_id = %s", VENDOR)
            return (items["SKU-000042"]["price"] == Decimal("77.7")
                    and items["SKU-000043"]["deactivated_at"] is not None
                    and "LATE-1" in items and stock[0]["quantity"] == Decimal("3"))

        try:
            wait_until(repaired, 60, "the scheduled reconciliation repaired the drift")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- restosync run's log (end) ---\n{system.output()[-15000:]}") from None

        events = system.http.get("/api/admin/reconciliation/events", headers=system.admin,
                                 params={"vendorId": VENDOR, "eventType": "conflict_resolved", "limit": "100"})
        keys = {(e["entity"], e["summary"]["key"]["sku"], e["summary"]["action"]) for e in events.json()["data"]}
        assert {("items", "SKU-000042", "updated"), ("items", "SKU-000043", "deactivated"),
                ("items", "LATE-1", "inserted"), ("stock", "SKU-000044", "updated")} <= keys
        metrics = system.http.get(f"/api/admin/metrics/reconciliation/{VENDOR}", headers=system.admin).json()
        assert metrics["eventCount"] >= 4 and metrics["lastRun"] is not None
        # the runs were scheduled ones, served by the reconciliation workers
        runs = rows_of(settings.database_url, "SELECT DISTINCT trigger FROM reconciliation_runs")
        assert [r["trigger"] for r in runs] == ["schedule"]
        assert system.stop(timeout=30) == 0
    finally:
        system.close()
        agent.stop()
