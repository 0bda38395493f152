"""Agent authentication over HTTP with real PostgreSQL and Redis."""

from __future__ import annotations

import psycopg
from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from tests.integration.agent_helpers import admin_headers, agent_token, register_agent

Client = TestClient  # type: ignore[type-arg]


def _problem(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"], body["detail"]


def _register(client: Client, vendor: str, token: str, *, url: str = "https://agent.example/a", **headers: str):
    secret = client.app.state.services.settings.agent_secret
    return client.post(
        "/api/agents/register",
        json={"vendorId": vendor, "agentUrl": url, "authToken": token},
        headers={"Authorization": f"Bearer {secret}", **headers},
    )


def test_registration_stores_only_a_10_round_bcrypt_hash_of_the_token(client: Client, settings: Settings) -> None:
    token = agent_token()
    response = _register(client, "v1", token)
    assert response.status_code == 201, response.text
    assert response.json()["vendorId"] == "v1" and response.json()["status"] == "online"
    assert "authToken" not in response.text and token not in response.text
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute("SELECT auth_token_hash, agent_registry::text FROM agent_registry").fetchall()
        audit = conn.execute("SELECT details::text FROM audit_log").fetchall()
    [(stored, whole_row)] = rows
    assert stored.startswith("$2b$10$") and token not in whole_row
    assert all(token not in details for (details,) in audit)


def test_registration_needs_the_shared_secret(client: Client) -> None:
    body = {"vendorId": "v1", "agentUrl": "https://agent.example/a", "authToken": agent_token()}
    missing = client.post("/api/agents/register", json=body)
    wrong = client.post("/api/agents/register", json=body, headers={"Authorization": "Bearer not-the-secret"})
    assert _problem(missing) == _problem(wrong)
    assert missing.status_code == 401


def test_wrong_token_missing_vendor_header_and_another_vendors_header_all_get_the_same_401(client: Client) -> None:
    mine = register_agent(client, "v1")
    register_agent(client, "v2")
    attempts = {
        "wrong token": {**mine, "Authorization": "Bearer " + agent_token()},
        "no vendor header": {"Authorization": mine["Authorization"]},
        "other vendor's header": {**mine, "X-Vendor-ID": "v2"},
        "unknown vendor": {**mine, "X-Vendor-ID": "nobody"},
        "no token": {"X-Vendor-ID": "v1"},
        "not bearer": {**mine, "Authorization": mine["Authorization"].replace("Bearer", "Basic")},
    }
    answers = {name: client.post("/api/agents/heartbeat", headers=h) for name, h in attempts.items()}
    problems = {name: _problem(r) for name, r in answers.items()}
    assert {p[0] for p in problems.values()} == {401}, problems
    assert len(set(problems.values())) == 1, problems
    assert client.post("/api/agents/heartbeat", headers=mine).status_code == 200


def test_a_body_naming_another_vendor_is_forbidden(client: Client) -> None:
    mine = register_agent(client, "v1")
    response = client.post("/api/agents/heartbeat", headers=mine, json={"vendorId": "v2"})
    assert response.status_code == 403, response.text
    assert client.post("/api/agents/heartbeat", headers=mine, json={"vendorId": "v1"}).status_code == 200


def test_a_takeover_with_only_the_shared_secret_is_refused(client: Client) -> None:
    token = agent_token()
    mine = register_agent(client, "v1", "https://agent.example/a", token=token)
    attacker = _register(client, "v1", agent_token(), url="https://attacker.example/")
    assert attacker.status_code == 409, attacker.text
    wrong_proof = _register(client, "v1", agent_token(), **{"X-Agent-Token": agent_token()})
    assert wrong_proof.status_code == 403, wrong_proof.text
    assert client.post("/api/agents/heartbeat", headers=mine).status_code == 200
    agent = client.get("/api/agents/v1", headers=admin_headers(client)).json()
    assert agent["agentUrl"] == "https://agent.example/a"


def test_re_registering_with_the_same_token_updates_the_url(client: Client) -> None:
    token = agent_token()
    register_agent(client, "v1", token=token)
    again = _register(client, "v1", token, url="https://moved.example/agent")
    assert again.status_code == 200, again.text
    assert again.json()["agentUrl"] == "https://moved.example/agent"


def test_a_token_replaced_with_proof_of_the_current_one_stops_the_old_token_at_once(client: Client) -> None:
    old = agent_token()
    old_headers = register_agent(client, "v1", token=old)
    assert client.post("/api/agents/heartbeat", headers=old_headers).status_code == 200  # cached now
    new = agent_token()
    replaced = _register(client, "v1", new, **{"X-Agent-Token": old})
    assert replaced.status_code == 200, replaced.text
    assert client.post("/api/agents/heartbeat", headers=old_headers).status_code == 401
    new_headers = {"Authorization": f"Bearer {new}", "X-Vendor-ID": "v1"}
    assert client.post("/api/agents/heartbeat", headers=new_headers).status_code == 200


def test_after_deregistration_the_old_token_fails_at_once(client: Client) -> None:
    headers = register_agent(client, "v1")
    assert client.post("/api/agents/heartbeat", headers=headers).status_code == 200  # cached now
    assert client.post("/api/agents/heartbeat", headers=headers).status_code == 200
    assert client.delete("/api/agents/v1", headers=admin_headers(client)).status_code == 204
    assert client.post("/api/agents/heartbeat", headers=headers).status_code == 401


def test_a_revocation_in_one_api_process_holds_in_another_at_once(
    client: Client, settings: Settings
) -> None:
    from restosync_adapters.bootstrap import bootstrap
    from restosync_http.app import create_app

    headers = register_agent(client, "v1")
    with TestClient(create_app(bootstrap(settings))) as other:
        assert other.post("/api/agents/heartbeat", headers=headers).status_code == 200  # cached there
        assert client.delete("/api/admin/agents/v1", headers=admin_headers(client)).status_code == 204
        assert other.post("/api/agents/heartbeat", headers=headers).status_code == 401


def test_admin_routes_need_the_api_key_and_answer_the_same_401_for_missing_and_wrong(client: Client) -> None:
    for path in ("/api/agents", "/api/admin/agents"):
        missing = client.get(path)
        wrong = client.get(path, headers={"X-API-Key": "x" * 40})
        assert missing.status_code == 401 and _problem(missing) == _problem(wrong)
        assert client.get(path, headers=admin_headers(client)).status_code == 200
    agent_headers = register_agent(client, "v1")
    assert client.get("/api/agents/v1", headers=agent_headers).status_code == 401
