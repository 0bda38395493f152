"""The agent lifecycle over HTTP: register, heartbeat, status transitions with a driven clock, admin care."""

from __future__ import annotations

import psycopg
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services
from restosync_adapters.settings import Settings
from tests.fakes import FakeClock
from tests.fakes.agents import FakeAlertSink
from tests.integration.agent_helpers import admin_headers, register_agent
from tests.waiting import wait_until

Client = TestClient  # type: ignore[type-arg]


def _status(client: Client, vendor: str) -> str:
    response = client.get(f"/api/admin/agents/{vendor}", headers=admin_headers(client))
    assert response.status_code == 200, response.text
    return response.json()["status"]


def _recorded_status(settings: Settings, vendor: str) -> str:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT status::text FROM agent_registry WHERE vendor_id = %s", (vendor,)).fetchone()
    assert row is not None
    return row[0]


def test_register_heartbeat_and_status_transitions_with_a_driven_clock(
    driven_client: Client,
    driven_services: Services,
    clock: FakeClock,
    alerts: FakeAlertSink,
    settings: Settings,
) -> None:
    client = driven_client
    headers = register_agent(client, "v1")
    check = driven_services.check_agent_health

    assert _status(client, "v1") == "online"
    clock.advance(seconds=61)
    assert _status(client, "v1") == "degraded"  # as of now, before any health check
    assert _recorded_status(settings, "v1") == "online"
    report = client.blocking_portal.call(check)
    assert [(t.from_status, t.to_status) for t in report.transitions] == [("online", "degraded")]
    assert _recorded_status(settings, "v1") == "degraded"

    clock.advance(seconds=240)
    assert _status(client, "v1") == "offline"
    report = client.blocking_portal.call(check)
    assert [(t.from_status, t.to_status) for t in report.transitions] == [("degraded", "offline")]
    assert [a.type for a in alerts.sent] == ["agent_offline"]
    assert client.blocking_portal.call(check).transitions == []
    assert len(alerts.sent) == 1

    heartbeat = client.post("/api/agents/heartbeat", headers=headers, json={"version": "1.2.3"})
    assert heartbeat.status_code == 200, heartbeat.text
    assert heartbeat.json()["status"] == "online"
    wait_until(lambda: _status(client, "v1") == "online", 10, "v1 to read online")  # the next heartbeat flush (1 s)
    assert _recorded_status(settings, "v1") == "online"
    with psycopg.connect(settings.database_url) as conn:
        actions = [r[0] for r in conn.execute(
            "SELECT details->>'to' FROM audit_log WHERE action = 'agent.status_changed' ORDER BY created_at, id"
        )]
    assert sorted(actions) == sorted(["degraded", "offline", "online"])


def test_a_heartbeat_racing_the_health_check_keeps_the_agent_online(settings: Settings) -> None:
    from restosync_adapters.bootstrap import bootstrap
    from restosync_http.app import create_app
    from tests.conftest import make_settings

    clock = FakeClock()
    write_through = make_settings(settings.database_url, settings.redis_prefix, AGENT_HEARTBEAT_FLUSH_SECONDS="0")
    driven_services = bootstrap(write_through, clock=clock)
    with TestClient(create_app(driven_services)) as driven_client:
        _race(driven_client, driven_services, clock, settings)


def _race(driven_client: Client, driven_services: Services, clock: FakeClock, settings: Settings) -> None:
    from restosync_core.policies.agent_health import plan_transitions

    headers = register_agent(driven_client, "v1")
    clock.advance(seconds=301)

    async def plan():
        async with driven_services.uow() as uow:
            return plan_transitions(await uow.agents.all(), clock.now())

    planned = driven_client.blocking_portal.call(plan)
    assert len(planned) == 1
    assert driven_client.post("/api/agents/heartbeat", headers=headers).status_code == 200

    async def apply():
        async with driven_services.uow() as uow:
            return await uow.agents.apply_transitions(planned)

    assert driven_client.blocking_portal.call(apply) == []
    assert _recorded_status(settings, "v1") == "online"


def test_lists_paginate_with_meta(client: Client) -> None:
    for vendor in ("c", "a", "b"):
        register_agent(client, vendor)
    for path in ("/api/agents", "/api/admin/agents"):
        response = client.get(path, params={"page": 2, "limit": 2}, headers=admin_headers(client))
        assert response.status_code == 200, response.text
        body = response.json()
        assert [a["vendorId"] for a in body["data"]] == ["c"]
        assert body["meta"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}
        assert "authTokenHash" not in response.text
    too_big = client.get("/api/agents", params={"limit": 101}, headers=admin_headers(client))
    assert too_big.status_code == 400
    assert client.get("/api/agents", params={"page": 0}, headers=admin_headers(client)).status_code == 400


def test_admin_can_update_url_and_settings_and_deregister(client: Client) -> None:
    register_agent(client, "v1")
    admin = admin_headers(client)
    updated = client.put(
        "/api/admin/agents/v1",
        json={"agentUrl": "https://moved.example/agent", "settings": {"timeoutSeconds": 10}},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["agentUrl"] == "https://moved.example/agent"
    assert client.get("/api/agents/v1", headers=admin).json()["settings"] == {"timeoutSeconds": 10}
    assert client.put("/api/admin/agents/v1", json={"bogus": 1}, headers=admin).status_code == 400
    assert client.put("/api/admin/agents/v1", json={"agentUrl": "ftp://x"}, headers=admin).status_code == 400
    assert client.put("/api/admin/agents/nobody", json={"settings": {}}, headers=admin).status_code == 404
    assert client.delete("/api/admin/agents/v1", headers=admin).status_code == 204
    assert client.delete("/api/admin/agents/v1", headers=admin).status_code == 404
    assert client.get("/api/agents/v1", headers=admin).status_code == 404


def test_registration_rejects_bad_bodies_naming_the_field(client: Client) -> None:
    secret = {"Authorization": f"Bearer {client.app.state.services.settings.agent_secret}"}
    good = {"vendorId": "v1", "agentUrl": "https://agent.example/a", "authToken": "t" * 32}
    for bad, field in (
        ({**good, "authToken": "short"}, "authToken"),
        ({**good, "vendorId": "has space"}, "vendorId"),
        ({**good, "agentUrl": "ftp://agent.example/"}, "agentUrl"),
        ({**good, "extra": 1}, "extra"),
    ):
        response = client.post("/api/agents/register", json=bad, headers=secret)
        assert response.status_code == 400, response.text
        assert field in response.text


def test_health_counts_a_freshly_registered_agent_as_online(client: Client) -> None:
    register_agent(client, "v1")
    assert client.get("/health").json()["info"]["agents"] == {"status": "up", "online": 1, "total": 1}
