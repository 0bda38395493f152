"""Orders and agents over HTTP: no order for a vendor without an agent, no delivery to a stranger that
registers the vendor id later, and no breaker reset for a vendor restosync does not know."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import register_agent
from tests.integration.orders.conftest import Worker, admin, order_body

Client = TestClient  # type: ignore[type-arg]


def _count(settings: Settings, table: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # fixed table names
    assert row is not None
    return int(row[0])


def _job(api: Any, job_id: str) -> dict[str, Any]:
    response = api.get(f"/api/admin/sync-status/{job_id}", headers=admin(api))
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["job"]
    return job


def test_an_order_for_a_vendor_with_no_registered_agent_is_a_409_and_nothing_is_written(
    api: Client, order_settings: Settings
) -> None:
    response = api.post("/api/orders", json=order_body("vendor-nobody"), headers=admin(api))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "vendor-nobody" in problem["detail"] and "no agent is registered" in problem["detail"]
    for table in ("orders", "order_lines", "sync_jobs", "dead_letter_queue"):
        assert _count(order_settings, table) == 0, table
    assert api.get("/api/admin/sync-jobs", headers=admin(api)).json()["meta"]["total"] == 0


def test_an_order_whose_agent_was_deregistered_is_dead_lettered_and_a_newcomer_gets_it_only_by_admin_retry(
    api: Client, agent: FakeAgent, worker: Worker
) -> None:
    register_agent(api, "vendor-1", agent)
    job_id = api.post("/api/orders", json=order_body("vendor-1"), headers=admin(api)).json()["syncJobId"]
    assert api.delete("/api/admin/agents/vendor-1", headers=admin(api)).status_code == 204

    worker.until(lambda: _job(api, job_id)["status"] == "failed", 20, "the job to be dead-lettered")
    job = _job(api, job_id)
    assert job["attempts"] == 1, "no attempts spent retrying against nothing"
    assert agent.orders_received() == []
    (letter,) = api.get("/api/admin/dlq", headers=admin(api)).json()["data"]
    assert "no agent is registered for vendor vendor-1" in letter["lastError"]

    # Anyone holding the registration secret may register vendor-1 again: it receives nothing by itself.
    register_agent(api, "vendor-1", agent)
    assert worker.sweep() == 0
    worker.burst()
    assert agent.orders_received() == [] and _job(api, job_id)["status"] == "failed"

    retried = api.post(f"/api/admin/dlq/{letter['id']}/retry", headers=admin(api))
    assert retried.status_code == 200, retried.text
    worker.until(lambda: agent.orders_received(), 20, "the delivery an admin asked for")
    assert [r.idempotency_key for r in agent.orders_received()] == [job_id]


def test_resetting_the_breaker_of_an_unknown_vendor_is_a_404(api: Client) -> None:
    reset = api.post("/api/admin/circuit-breaker/reset", json={"vendorId": "vendor-x"}, headers=admin(api))
    assert reset.status_code == 404, reset.text
    assert "vendor-x" in reset.json()["detail"] and "no registered agent" in reset.json()["detail"]
    assert api.get("/api/admin/circuit-breaker/status", headers=admin(api)).json() == [], "nothing was created"


def test_resetting_a_known_breaker_works_with_an_agent_or_with_breaker_state_left_behind(api: Client) -> None:
    register_agent(api, "vendor-1")
    reset = api.post("/api/admin/circuit-breaker/reset", json={"vendorId": "vendor-1"}, headers=admin(api))
    assert reset.status_code == 200 and reset.json()["state"] == "closed", reset.text

    assert api.delete("/api/admin/agents/vendor-1", headers=admin(api)).status_code == 204
    again = api.post("/api/admin/circuit-breaker/reset", json={"vendorId": "vendor-1"}, headers=admin(api))
    assert again.status_code == 200, "the breaker still has state: it can be cleaned up"
    other_api = api.post(
        "/api/admin/circuit-breaker/reset", json={"vendorId": "vendor-1", "apiType": "images"}, headers=admin(api)
    )
    assert other_api.status_code == 404, "neither an agent nor state for vendor-1:images"
