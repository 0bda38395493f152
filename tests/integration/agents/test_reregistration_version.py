"""Re-registering over HTTP: a body without ``version`` keeps the stored version, one with it replaces it."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.integration.agent_helpers import admin_headers, agent_token, register_agent

Client = TestClient  # type: ignore[type-arg]


def _version(client: Client, vendor: str) -> str | None:
    response = client.get(f"/api/admin/agents/{vendor}", headers=admin_headers(client))
    assert response.status_code == 200, response.text
    version: str | None = response.json()["version"]
    return version


def test_re_registering_without_a_version_keeps_the_stored_version(client: Client) -> None:
    token = agent_token()
    register_agent(client, "v1", token=token, version="1.4.2")
    register_agent(client, "v1", "http://127.0.0.1:10/moved", token=token)
    assert _version(client, "v1") == "1.4.2"
    got = client.get("/api/admin/agents/v1", headers=admin_headers(client)).json()
    assert got["agentUrl"] == "http://127.0.0.1:10/moved", "the rest of the re-registration applied"

    register_agent(client, "v1", token=token, version="1.5.0")
    assert _version(client, "v1") == "1.5.0"


def test_replacing_the_token_without_a_version_keeps_it_too(client: Client) -> None:
    old, new = agent_token(), agent_token()
    register_agent(client, "v1", token=old, version="2.0")
    secret = client.app.state.services.settings.agent_secret
    body = {"vendorId": "v1", "agentUrl": "http://127.0.0.1:9/agent", "authToken": new}
    response = client.post(
        "/api/agents/register", json=body, headers={"Authorization": f"Bearer {secret}", "X-Agent-Token": old}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == "2.0"
    assert _version(client, "v1") == "2.0"
