"""Scale-out: two API processes and two worker processes at once, over one PostgreSQL and one Redis.

Every check goes over HTTP, as a client behind a load balancer would see it: what one
process counts, opens, changes or revokes, the other API process honours at once.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
import pytest

from restosync_adapters.settings import Settings
from tests.conftest import delete_redis_prefix, make_settings
from tests.deploy.conftest import ROOT, process_env
from tests.e2e.conftest import free_port, wait_until
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import agent_token
from tests.integration.ingest.helpers import item_json

HEARTBEATS_PER_MIN = 6
SCALE_ENV = {
    "RATE_LIMITS_ENABLED": "true",
    "RATE_LIMIT_GLOBAL_PER_MIN": "100000",
    "RATE_LIMIT_ADMIN_PER_MIN": "100000",
    "RATE_LIMIT_REGISTER_PER_MIN": "100000",
    "RATE_LIMIT_HEARTBEAT_PER_MIN": str(HEARTBEATS_PER_MIN),
    "ORDER_RETRY_DELAYS_SECONDS": "1",
    "ORDER_CLAIM_SECONDS": "5",
    "AGENT_TIMEOUT_SECONDS": "2",
    "BREAKER_WINDOW_SECONDS": "30",
    "BREAKER_STATE_REFRESH_MS": "0",
}


@dataclass
class Cluster:
    """Two ``restosync api`` and two ``restosync worker`` processes sharing one database and Redis."""

    settings: Settings
    apis: list[httpx.Client] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    def start(self) -> Cluster:
        env = process_env(self.settings, **SCALE_ENV)
        for _ in range(2):
            port = free_port()
            self._spawn(["api", "--port", str(port)], env)
            self.apis.append(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10))
        self._spawn(["worker"], env)
        self._spawn(["worker", "--queues", "order-sync,reconciliation,image-sync"], env)
        for api in self.apis:
            wait_until(lambda api=api: api.get("/health").status_code == 200, 60, f"{api.base_url}/health = 200")
        return self

    def _spawn(self, args: list[str], env: dict[str, str]) -> None:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.logs.append(log)
        self.processes.append(subprocess.Popen([sys.executable, "-m", "restosync_cli", *args], cwd=ROOT, env=env,
                                               stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
        for client in self.apis:
            client.close()
        for log in self.logs:
            log.close()

    @property
    def admin(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.api_secret}

    def register(self, vendor: str, agent: str | FakeAgent = "http://127.0.0.1:9") -> dict[str, str]:
        """Register ``vendor``'s agent (through the first API); answers the agent's own headers.
        A ``FakeAgent`` is told the outbound credential, to accept the workers' signed calls."""
        agent_url = agent if isinstance(agent, str) else agent.url
        token = agent_token()
        response = self.apis[0].post(
            "/api/agents/register", json={"vendorId": vendor, "agentUrl": agent_url, "authToken": token},
            headers={"Authorization": f"Bearer {self.settings.agent_secret}"},
        )
        assert response.status_code in (200, 201), response.text
        if not isinstance(agent, str):
            agent.trust(response.json()["outbound"])
        return {"Authorization": f"Bearer {token}", "X-Vendor-ID": vendor}


@pytest.fixture(scope="module")
def cluster(pg_url: str, redis_prefix: str) -> Iterator[Cluster]:
    prefix = f"{redis_prefix}-scale-{uuid.uuid4().hex[:6]}"
    running = Cluster(make_settings(pg_url, prefix))
    try:
        yield running.start()
    finally:
        running.stop()
        delete_redis_prefix(prefix)


def vendor() -> str:
    return f"scale-{uuid.uuid4().hex[:8]}"


def test_a_rate_limit_is_counted_once_across_both_api_processes(cluster: Cluster) -> None:
    agent = cluster.register(vendor())
    a, b = cluster.apis
    statuses = [(a if i % 2 == 0 else b).post("/api/agents/heartbeat", headers=agent).status_code
                for i in range(HEARTBEATS_PER_MIN + 2)]
    assert statuses == [200] * HEARTBEATS_PER_MIN + [429, 429]  # the 7th and 8th: one on each process


def test_a_revoked_agent_token_stops_working_on_every_api_process_at_once(cluster: Cluster) -> None:
    name = vendor()
    agent = cluster.register(name)
    a, b = cluster.apis
    assert [api.post("/api/agents/heartbeat", headers=agent).status_code for api in (a, b)] == [200, 200]
    assert a.delete(f"/api/admin/agents/{name}", headers=cluster.admin).status_code in (200, 204)
    assert [api.post("/api/agents/heartbeat", headers=agent).status_code for api in (b, a)] == [401, 401]


def test_a_mapping_changed_through_one_api_process_is_used_by_the_other_at_once(cluster: Cluster) -> None:
    name = vendor()
    agent = cluster.register(name)
    a, b = cluster.apis

    def push(sku: str) -> tuple[str, str | None]:
        response = b.post("/api/sync/items", json={"items": [item_json(sku)]}, headers=agent)
        assert response.status_code == 200, response.text
        row: dict[str, Any] = response.json()["results"][0]
        return row["status"], row.get("reason")

    assert push("SKU-1") == ("failed", "unmapped_unit")  # B has now resolved (and cached) "no mapping"
    created = {}
    for kind, erp, resto in [("unit", "KG", "kilogram"), ("vat", "TVA20", "vat-20")]:
        response = a.post("/api/admin/mappings", headers=cluster.admin, json={
            "vendorId": name, "mappingType": kind, "erpCode": erp, "restoCode": resto, "isActive": True})
        assert response.status_code == 201, response.text
        created[kind] = response.json()["id"]
    assert push("SKU-2")[0] not in ("failed", "rejected")

    assert a.delete(f"/api/admin/mappings/{created['unit']}", headers=cluster.admin).status_code == 200
    assert push("SKU-3") == ("failed", "unmapped_unit")


def test_a_breaker_opened_by_the_workers_is_open_on_every_api_process(cluster: Cluster) -> None:
    name = vendor()
    agent = FakeAgent().start()
    try:
        agent.fail_with(500)
        cluster.register(name, agent)
        a, b = cluster.apis
        for n in range(6):
            body = {"vendorId": name, "orderNumber": f"BRK-{n}", "lines": [{"sku": "S", "quantity": "1",
                                                                            "unitPrice": "2"}]}
            assert (a if n % 2 == 0 else b).post("/api/orders", json=body, headers=cluster.admin).status_code == 201

        def state_on(api: httpx.Client) -> str:
            rows = api.get("/api/admin/circuit-breaker/status", headers=cluster.admin).json()
            return next((r["state"] for r in rows if r["vendorId"] == name), "no state")

        wait_until(lambda: _equal(state_on(a), "open"), 60, "the breaker open, as seen by the first API")
        assert state_on(b) == "open"
        threading.Event().wait(1)  # a call that passed the breaker just before it opened has arrived by now
        calls = agent.order_count
        assert calls >= 5  # the failed deliveries (by the workers) that opened it
        threading.Event().wait(3)  # three retry periods: neither worker process calls the agent while it is open
        assert agent.order_count == calls
        assert state_on(a) == state_on(b) == "open"
    finally:
        agent.stop()


def _equal(value: str, expected: str) -> bool:
    assert value == expected, value
    return True
