"""Order delivery over real PostgreSQL and Redis, an RQ worker and the fake agent over HTTP."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from restosync_core.errors import DependencyUnavailable
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import register_agent
from tests.integration.orders.conftest import Worker, admin, flush_rq, order_body

Client = TestClient  # type: ignore[type-arg]


def _place(api: Any, vendor: str, number: str = "A-1") -> dict[str, Any]:
    response = api.post("/api/orders", json=order_body(vendor, number), headers=admin(api))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _job(api: Any, job_id: str) -> dict[str, Any]:
    response = api.get(f"/api/admin/sync-status/{job_id}", headers=admin(api))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_order_reaches_the_agent_once_with_its_key_and_the_callback_sets_its_erp_reference(
    api: Client, agent: FakeAgent, worker: Worker, order_settings: Settings
) -> None:
    headers = register_agent(api, "vendor-1", agent)
    order = _place(api, "vendor-1")
    job_id = order["syncJobId"]
    assert order["status"] == "pending" and order["erpReference"] is None

    worker.until(lambda: agent.orders_received(), 20, "the agent to receive the order")
    worker.sweep()  # a duplicate wake-up: the claim in the database makes it a no-op
    worker.burst()
    (received,) = agent.orders_received()
    assert received.idempotency_key == job_id
    (outbound_token,) = agent.credentials  # the one the registration answered: not AGENT_SECRET
    assert received.headers["authorization"] == f"Bearer {outbound_token}"
    assert order_settings.agent_secret not in str(received.headers) and not agent.rejections
    assert received.headers["x-correlation-id"] == _job(api, job_id)["job"]["correlationId"]
    assert received.body["jobId"] == job_id and received.body["orderId"] == order["id"]
    assert received.body["lines"][0] == {"sku": "SKU-1", "quantity": "2", "unitPrice": "18.50"}
    assert _job(api, job_id)["job"]["status"] == "sent"

    callback = {"jobId": job_id, "status": "completed", "erpReference": "ERP-100"}
    first = api.post("/api/agents/callback", json=callback, headers=headers)
    assert first.status_code == 200 and first.json()["result"] == "applied", first.text
    again = api.post("/api/agents/callback", json=callback, headers=headers)
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    clash = api.post("/api/agents/callback", json={**callback, "erpReference": "ERP-999"}, headers=headers)
    assert clash.status_code == 409, clash.text
    other = register_agent(api, "vendor-2", agent)
    assert api.post("/api/agents/callback", json=callback, headers=other).status_code == 403

    got = api.get(f"/api/orders/{order['id']}", headers=admin(api)).json()
    assert got["status"] == "synced" and got["erpReference"] == "ERP-100"
    status = _job(api, job_id)
    assert status["job"]["status"] == "completed" and status["order"]["erpReference"] == "ERP-100"


def test_placing_an_order_twice_is_a_conflict_and_a_bad_order_is_refused(api: Client) -> None:
    register_agent(api, "vendor-1")
    _place(api, "vendor-1", "N-1")
    again = api.post("/api/orders", json=order_body("vendor-1", "N-1"), headers=admin(api))
    assert again.status_code == 409
    bad = order_body("vendor-1", "N-2")
    bad["lines"][0]["quantity"] = "0"
    assert api.post("/api/orders", json=bad, headers=admin(api)).status_code == 400
    assert api.post("/api/orders", json=order_body("vendor-1", "N-3")).status_code == 401
    listed = api.get("/api/admin/sync-jobs", params={"vendorId": "vendor-1", "status": "pending"}, headers=admin(api))
    assert listed.status_code == 200 and listed.json()["meta"]["total"] == 1


def _breaker_status_from_another_process(settings: Settings) -> str:
    code = (
        "import asyncio\n"
        "from restosync_adapters.bootstrap import bootstrap\n"
        "from restosync_adapters.settings import Settings\n"
        "async def main():\n"
        "    s = bootstrap(Settings.from_env())\n"
        "    await s.start()\n"
        "    print(';'.join(f'{b.key}={b.state.value}' for b in await s.breaker.status()))\n"
        "    await s.stop()\n"
        "asyncio.run(main())\n"
    )
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "REDIS_PREFIX": settings.redis_prefix, "API_SECRET": settings.api_secret,
           "AGENT_SECRET": settings.agent_secret, "ENV": "test", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


# Every failed attempt counts in the breaker's window however slowly a loaded machine runs them, and
# the breaker stays open long enough for another process to start and read it; the retry then waits
# for the half-open probe (a poll with a deadline, not a timed assertion).
@pytest.mark.settings(BREAKER_WINDOW_SECONDS="600", BREAKER_RESET_TIMEOUT_SECONDS="10")
def test_agent_down_opens_the_breaker_for_everyone_the_job_dies_and_a_dlq_retry_completes_it(
    api: Client, agent: FakeAgent, worker: Worker, order_settings: Settings
) -> None:
    headers = register_agent(api, "vendor-1", agent)
    agent.down()
    job_id = _place(api, "vendor-1")["syncJobId"]

    worker.until(lambda: _job(api, job_id)["job"]["status"] == "failed", 60, "the job to run out of attempts")
    assert _breaker_status_from_another_process(order_settings) == "vendor-1:orders=open"
    breakers = api.get("/api/admin/circuit-breaker/status", headers=admin(api)).json()
    assert [(b["key"], b["state"]) for b in breakers] in ([("vendor-1:orders", "open")],
                                                          [("vendor-1:orders", "half_open")])
    status = _job(api, job_id)
    assert status["job"]["attempts"] == 5
    (letter,) = api.get("/api/admin/dlq", headers=admin(api)).json()["data"]
    detail = api.get(f"/api/admin/dlq/{letter['id']}", headers=admin(api)).json()
    assert detail["payload"]["jobId"] == job_id and "could not be reached" in detail["lastError"]

    agent.up()
    agent.callbacks_to("", "vendor-1", "")  # callbacks go through the test client below instead
    retried = api.post(f"/api/admin/dlq/{letter['id']}/retry", headers={**admin(api), "X-Request-ID": "req-42"})
    assert retried.status_code == 200, retried.text
    worker.until(lambda: agent.orders_received(), 30, "the retried delivery (after the breaker half-opens)")
    assert {r.idempotency_key for r in agent.orders_received()} == {job_id}
    done = api.post("/api/agents/callback", json={"jobId": job_id, "status": "completed", "erpReference": "E-1"},
                    headers=headers)
    assert done.status_code == 200, done.text
    assert _job(api, job_id)["job"]["status"] == "completed"
    assert api.get("/api/admin/dlq", headers=admin(api)).json()["meta"]["total"] == 0
    assert api.get("/api/admin/circuit-breaker/status", headers=admin(api)).json()[0]["state"] == "closed"
    rows = _audit_rows(worker)
    assert [(r["action"], r["request_id"]) for r in rows] == [("dlq.retry", "req-42")]
    assert rows[0]["client_address"]


def _audit_rows(worker: Worker) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        assert worker.services.pool is not None
        async with worker.services.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT action, request_id, client_address FROM audit_log"
                " WHERE action LIKE 'dlq.%' ORDER BY created_at"
            )
            return list(await cur.fetchall())

    return worker.runtime.run(read())


def test_redis_flushed_while_jobs_are_pending_every_order_is_still_delivered(
    api: Client, agent: FakeAgent, worker: Worker, order_settings: Settings
) -> None:
    register_agent(api, "vendor-1", agent)
    jobs = {_place(api, "vendor-1", f"F-{i}")["syncJobId"] for i in range(5)}
    assert flush_rq(order_settings.redis_prefix) > 0
    worker.burst()
    assert agent.orders_received() == [], "Redis lost every wake-up"
    assert worker.sweep() == 5
    worker.until(lambda: len(agent.orders_received()) >= 5, 30, "every order to be delivered")
    worker.sweep()
    worker.burst()
    assert sorted(r.idempotency_key or "" for r in agent.orders_received()) == sorted(jobs)


def test_resolving_a_dead_letter_is_audited_and_takes_it_off_the_list(
    api: Client, agent: FakeAgent, worker: Worker
) -> None:
    register_agent(api, "vendor-1", agent)
    agent.fail_with(422)
    job_id = _place(api, "vendor-1")["syncJobId"]
    worker.until(lambda: _job(api, job_id)["job"]["status"] == "failed", 20, "a permanent refusal")
    assert len(agent.orders_received()) == 1, "a 422 is not retried"
    (letter,) = api.get("/api/admin/dlq", headers=admin(api)).json()["data"]
    resolved = api.post(f"/api/admin/dlq/{letter['id']}/resolve", headers=admin(api))
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    assert api.get("/api/admin/dlq", headers=admin(api)).json()["data"] == []
    assert api.post(f"/api/admin/dlq/{letter['id']}/retry", headers=admin(api)).status_code == 409
    assert [r["action"] for r in _audit_rows(worker)] == ["dlq.resolve"]
    reset = api.post("/api/admin/circuit-breaker/reset", json={"vendorId": "vendor-1"}, headers=admin(api))
    assert reset.status_code == 200 and reset.json()["state"] == "closed"


def test_placing_orders_is_not_held_to_the_admin_rate_limit_but_admin_reads_are(
    clean_db: str, redis_ns: str
) -> None:
    from restosync_adapters.bootstrap import bootstrap
    from restosync_http.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(clean_db, redis_ns, RATE_LIMIT_ADMIN_PER_MIN="3", RATE_LIMIT_GLOBAL_PER_MIN="1000")
    with TestClient(create_app(bootstrap(settings))) as api:
        register_agent(api, "vendor-1")
        placed = [_place(api, "vendor-1", f"R-{i}") for i in range(5)]
        codes = [api.get(f"/api/orders/{placed[0]['id']}", headers=admin(api)).status_code for _ in range(4)]
    assert len(placed) == 5
    assert codes == [200, 200, 200, 429]


def test_a_wake_up_that_meets_a_database_outage_is_woken_again_by_the_sweeper(
    api: Client, agent: FakeAgent, worker: Worker
) -> None:
    register_agent(api, "vendor-1", agent)
    deliver = worker.services.deliver_order
    real_claims = deliver.claims

    class DownOnce:
        calls = 0

        async def claim(self, *args: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                raise DependencyUnavailable("the database is unavailable")
            return await real_claims.claim(*args)

        async def save_claimed(self, *args: Any) -> bool:
            return await real_claims.save_claimed(*args)

    object.__setattr__(deliver, "claims", DownOnce())
    job_id = _place(api, "vendor-1")["syncJobId"]
    worker.burst()
    assert agent.orders_received() == [] and _job(api, job_id)["job"]["status"] == "pending"
    assert worker.sweep() == 1, "the failed wake-up did not keep its id"
    worker.until(lambda: agent.orders_received(), 20, "the delivery after the outage")
    assert _job(api, job_id)["job"]["status"] == "sent"
