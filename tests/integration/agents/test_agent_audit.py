"""Agent actions over HTTP are audited with the request that asked: its X-Request-ID and client address."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar.testing import TestClient
from psycopg.rows import dict_row

from restosync_adapters.settings import Settings
from tests.fakes import FakeClock
from tests.integration.agent_helpers import admin_headers, agent_token

Client = TestClient  # type: ignore[type-arg]


def _audit_rows(settings: Settings) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT action, entity_type, entity_id, request_id, client_address, details, created_at,"
            " audit_log::text AS whole FROM audit_log WHERE action <> 'agent.status_changed'"
            " ORDER BY created_at, action"
        ).fetchall()


def _register(client: Client, vendor: str, token: str, request_id: str, **headers: str) -> None:
    secret = client.app.state.services.settings.agent_secret
    response = client.post(
        "/api/agents/register",
        json={"vendorId": vendor, "agentUrl": "https://agent.example/a", "authToken": token},
        headers={"Authorization": f"Bearer {secret}", "X-Request-ID": request_id, **headers},
    )
    assert response.status_code in (200, 201), response.text


def test_registration_update_and_deregistration_are_audited_with_the_request_id_and_client(
    driven_client: Client, clock: FakeClock, settings: Settings
) -> None:
    client = driven_client
    admin = admin_headers(client)
    first, second = agent_token(), agent_token()
    start = clock.now()
    _register(client, "v1", first, "req-register")
    clock.advance(seconds=1)
    _register(client, "v1", second, "req-replace", **{"X-Agent-Token": first})
    clock.advance(seconds=1)
    updated = client.put(
        "/api/admin/agents/v1", json={"settings": {"timeoutSeconds": 10}},
        headers={**admin, "X-Request-ID": "req-update"},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["X-Request-ID"] == "req-update"
    clock.advance(seconds=1)
    deleted = client.delete("/api/admin/agents/v1", headers={**admin, "X-Request-ID": "req-admin-delete"})
    assert deleted.status_code == 204, deleted.text
    _register(client, "v2", agent_token(), "req-register-2")
    clock.advance(seconds=1)
    assert client.delete("/api/agents/v2", headers={**admin, "X-Request-ID": "req-delete"}).status_code == 204

    rows = _audit_rows(settings)
    assert [(r["action"], r["entity_type"], r["entity_id"], r["request_id"]) for r in rows] == [
        ("agent.registered", "agent", "v1", "req-register"),
        ("agent.token_replaced", "agent", "v1", "req-replace"),
        ("agent.updated", "agent", "v1", "req-update"),
        ("agent.deregistered", "agent", "v1", "req-admin-delete"),
        ("agent.registered", "agent", "v2", "req-register-2"),
        ("agent.deregistered", "agent", "v2", "req-delete"),
    ]
    assert all(r["client_address"] for r in rows), rows
    assert [int((r["created_at"] - start).total_seconds()) for r in rows] == [0, 1, 2, 3, 3, 4]
    assert rows[0]["details"] == {"agentUrl": "https://agent.example/a"}
    assert rows[2]["details"] == {"changed": ["settings"]}
    assert not any(token in r["whole"] for r in rows for token in (first, second))
    assert not any("$2b$" in r["whole"] for r in rows), "no token hash in the audit log"


def test_a_request_without_x_request_id_is_audited_with_the_id_it_was_given(
    client: Client, settings: Settings
) -> None:
    secret = client.app.state.services.settings.agent_secret
    response = client.post(
        "/api/agents/register",
        json={"vendorId": "v1", "agentUrl": "https://agent.example/a", "authToken": agent_token()},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 201, response.text
    (row,) = _audit_rows(settings)
    assert row["request_id"] == response.headers["X-Request-ID"] and row["client_address"]
