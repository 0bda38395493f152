"""An order reads the same on ``POST /api/orders`` and on ``GET`` of it, decimals and sync job id included."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.integration.agent_helpers import register_agent
from tests.integration.orders.conftest import admin, order_body

Client = TestClient  # type: ignore[type-arg]


def test_an_order_reads_the_same_on_post_and_on_get(api: Client) -> None:
    register_agent(api, "vendor-1")
    body = order_body("vendor-1")
    body["lines"].append({"sku": "SKU-3", "quantity": "1.50000", "unitPrice": "0.0001"})
    placed = api.post("/api/orders", json=body, headers=admin(api))
    assert placed.status_code == 201, placed.text

    read = api.get(f"/api/orders/{placed.json()['id']}", headers=admin(api))

    assert read.status_code == 200, read.text
    assert read.json() == placed.json()
    assert read.json()["syncJobId"] is not None
    assert [(ln["quantity"], ln["unitPrice"]) for ln in read.json()["lines"]] == [
        ("2.0000", "18.5000"), ("1.5000", "3.0000"), ("1.5000", "0.0001")
    ]


def test_the_order_in_the_sync_status_reads_as_it_did_when_placed(api: Client) -> None:
    register_agent(api, "vendor-1")
    placed = api.post("/api/orders", json=order_body("vendor-1"), headers=admin(api)).json()
    status = api.get(f"/api/admin/sync-status/{placed['syncJobId']}", headers=admin(api))
    assert status.status_code == 200, status.text
    assert status.json()["order"]["lines"] == placed["lines"]
