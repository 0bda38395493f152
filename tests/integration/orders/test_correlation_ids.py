"""Correlation ids end to end: a push's is echoed and logged; an order's reaches the agent, the worker's
log lines and the callback's."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from restosync_adapters.logging import configure_logging
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import register_agent
from tests.integration.orders.conftest import Worker, admin, order_body

Client = TestClient  # type: ignore[type-arg]
Capture = pytest.CaptureFixture[str]


def _log_lines(capfd: Capture) -> list[dict[str, Any]]:
    """The JSON log lines written to stderr since the last read."""
    lines = []
    for line in capfd.readouterr().err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def _item(sku: str) -> dict[str, Any]:
    return {
        "sku": sku, "name": f"Item {sku}", "price": "4.20", "unitCode": "KG", "vatCode": "20",
        "updatedAt": "2026-01-01T00:00:00Z",
    }


def test_a_push_answers_and_logs_the_correlation_id_it_was_given_or_a_new_one(
    api: Client, capfd: Capture
) -> None:
    configure_logging("INFO")
    headers = register_agent(api, "vendor-c1")
    given = str(uuid.uuid4())
    _log_lines(capfd)

    pushed = api.post("/api/sync/items", json={"items": [_item("C-1")]}, headers={**headers, "X-Correlation-ID": given})
    assert pushed.status_code == 200, pushed.text
    assert pushed.headers["x-correlation-id"] == given
    (access,) = [ln for ln in _log_lines(capfd) if ln.get("event") == "request"]
    assert access["correlation_id"] == given and access["path"] == "/api/sync/items"

    # Not a UUID (what the jobs and runs store): replaced by a new one, never refused.
    replaced = api.post(
        "/api/sync/items", json={"items": [_item("C-2")]}, headers={**headers, "X-Correlation-ID": "not-a-uuid"}
    )
    assert replaced.status_code == 200, replaced.text
    made_up = replaced.headers["x-correlation-id"]
    assert made_up != "not-a-uuid" and uuid.UUID(made_up)
    # Spelled otherwise (upper case, braces), the same UUID: answered in its canonical spelling.
    upper = api.get("/health", headers={"X-Correlation-ID": "{" + given.upper() + "}"})
    assert upper.headers["x-correlation-id"] == given
    # Two requests without one get two ids.
    assert api.get("/health").headers["x-correlation-id"] != api.get("/health").headers["x-correlation-id"]


@pytest.mark.parametrize("sent", [True, False], ids=["given", "generated"])
def test_an_orders_correlation_id_reaches_the_agent_the_worker_logs_and_the_callback(
    api: Client, agent: FakeAgent, worker: Worker, capfd: Capture, sent: bool
) -> None:
    configure_logging("INFO")
    headers = register_agent(api, "vendor-c2", agent)
    extra = {"X-Correlation-ID": str(uuid.uuid4())} if sent else {}
    _log_lines(capfd)

    placed = api.post("/api/orders", json=order_body("vendor-c2"), headers={**admin(api), **extra})
    assert placed.status_code == 201, placed.text
    given = placed.headers["x-correlation-id"]
    assert given == extra["X-Correlation-ID"] if sent else uuid.UUID(given)
    job_id = placed.json()["syncJobId"]
    status = api.get(f"/api/admin/sync-status/{job_id}", headers=admin(api)).json()
    assert status["job"]["correlationId"] == given

    worker.until(lambda: agent.orders_received(), 20, "the agent to receive the order")
    (received,) = agent.orders_received()
    assert received.headers["x-correlation-id"] == given
    delivered = [ln for ln in _log_lines(capfd) if ln.get("sync_job_id") == job_id and "sent" in ln["event"]]
    assert delivered and all(ln["correlation_id"] == given for ln in delivered), delivered

    # The agent calls back without the header: the callback's lines and answer carry the order's id.
    callback = {"jobId": job_id, "status": "completed", "erpReference": "ERP-C2"}
    answered = api.post("/api/agents/callback", json=callback, headers=headers)
    assert answered.status_code == 200, answered.text
    assert answered.headers["x-correlation-id"] == given
    lines = _log_lines(capfd)
    completed = [ln for ln in lines if "completed: ERP reference ERP-C2" in ln["event"]]
    assert [ln["correlation_id"] for ln in completed] == [given]
    (access,) = [ln for ln in lines if ln.get("event") == "request" and ln["path"] == "/api/agents/callback"]
    assert access["correlation_id"] == given and access["sync_job_id"] == job_id
