"""Through the real API, worker and PostgreSQL: a dead letter whose job row retention deleted is retried
to completion, under the same Idempotency-Key as its first delivery."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import register_agent
from tests.integration.orders.conftest import Worker, admin, order_body

Client = TestClient  # type: ignore[type-arg]


def _status(api: Any, job_id: str) -> str | None:
    response = api.get(f"/api/admin/sync-status/{job_id}", headers=admin(api))
    return response.json()["job"]["status"] if response.status_code == 200 else None


def test_a_dead_letter_whose_job_was_cleaned_away_is_retried_to_completion(
    api: Client,
    agent: FakeAgent,
    worker: Worker,
) -> None:
    headers = register_agent(api, "vendor-1", agent)
    agent.fail_with(422)  # refused for good: dead-lettered at the first attempt
    placed = api.post("/api/orders", json=order_body("vendor-1"), headers=admin(api)).json()
    job_id, order_id = placed["syncJobId"], placed["id"]
    worker.until(lambda: _status(api, job_id) == "failed", 30, "the job to be dead-lettered")
    (letter,) = api.get("/api/admin/dlq", headers=admin(api)).json()["data"]

    async def age_and_clean() -> str:
        assert worker.services.pool is not None
        async with worker.services.pool.connection() as conn:
            await conn.execute("UPDATE sync_jobs SET updated_at = now() - interval '8 days'")
        return str(await worker.services.cleanup_expired_jobs())

    assert "1 failed sync jobs removed" in worker.runtime.run(age_and_clean())
    assert _status(api, job_id) is None, "the job row is gone"
    assert api.get(f"/api/admin/dlq/{letter['id']}", headers=admin(api)).json()["syncJobId"] is None

    agent.accept()
    retried = api.post(f"/api/admin/dlq/{letter['id']}/retry", headers=admin(api))
    assert retried.status_code == 200, retried.text
    assert retried.json()["syncJobId"] == job_id, "rebuilt under the job id its payload names"
    worker.until(lambda: _status(api, job_id) == "sent", 30, "the rebuilt job to be delivered")
    assert [r.idempotency_key for r in agent.orders_received()] == [job_id, job_id]
    done = api.post(
        "/api/agents/callback", json={"jobId": job_id, "status": "completed", "erpReference": "E-9"}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert _status(api, job_id) == "completed"
    order = api.get(f"/api/orders/{order_id}", headers=admin(api)).json()
    assert (order["status"], order["erpReference"]) == ("synced", "E-9")
    assert api.get("/api/admin/dlq", headers=admin(api)).json()["meta"]["total"] == 0
