"""A stored agent URL whose host resolves to a denied address: the delivery is dead-lettered, nothing is sent."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.fake_agent import FakeAgent
from tests.integration.orders.conftest import FAST, Worker, admin, order_body


def test_an_agent_host_that_resolves_into_a_denied_network_gets_no_order_and_the_job_is_dead_lettered(
    clean_db: str, redis_ns: str, agent: FakeAgent
) -> None:
    settings = make_settings(clean_db, redis_ns, **{**FAST, "AGENT_URL_DENIED_NETWORKS": "127.0.0.0/8,::1/128"})
    # Registration would refuse it now: this row stands for one stored before the rule, or a name whose
    # DNS answer changed since it was registered.
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "INSERT INTO agent_registry (vendor_id, agent_url, auth_token_hash, outbound_token, signing_secret) "
            "VALUES ('vendor-1', %s, 'x', 'rso_out_x', 'whsec_eA==')",
            (agent.url.replace("127.0.0.1", "localhost"),),
        )
    worker = Worker(settings)
    try:
        with TestClient(create_app(bootstrap(settings))) as api:
            placed = api.post("/api/orders", json=order_body("vendor-1"), headers=admin(api))
            assert placed.status_code == 201, placed.text
            job_id = placed.json()["syncJobId"]

            def job() -> dict[str, Any]:
                body: dict[str, Any] = api.get(f"/api/admin/sync-status/{job_id}", headers=admin(api)).json()
                return body["job"]

            worker.until(lambda: job()["status"] == "failed", 20, "the job to be dead-lettered")
            assert job()["attempts"] == 1
            assert "denied network (127.0.0.0/8" in job()["lastError"] or "::1/128" in job()["lastError"]
            assert agent.orders_received() == []
    finally:
        worker.close()
