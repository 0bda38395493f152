"""GET /health over the real app, PostgreSQL and Redis."""

from __future__ import annotations

from litestar.testing import TestClient


def test_health_is_ok_when_every_subsystem_is_up(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    for part in ("database", "redis", "queues", "agents", "memory_heap", "disk"):
        assert body["info"][part]["status"] == "up", part
    assert body["info"]["queues"]["queues"] == {"order-sync": 0, "reconciliation": 0, "image-sync": 0}
    assert body["info"]["agents"] == {"status": "up", "online": 0, "total": 0}
