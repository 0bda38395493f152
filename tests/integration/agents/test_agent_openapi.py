"""The agent routes are described in the OpenAPI document (served only when SWAGGER_ENABLED=true)."""

from __future__ import annotations

from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings

OPERATIONS = {
    ("post", "/api/agents/register"): "registerAgent",
    ("post", "/api/agents/heartbeat"): "sendAgentHeartbeat",
    ("get", "/api/agents"): "listAgents",
    ("get", "/api/agents/{vendor_id}"): "getAgent",
    ("delete", "/api/agents/{vendor_id}"): "deregisterAgent",
    ("get", "/api/admin/agents"): "adminListAgents",
    ("get", "/api/admin/agents/{vendor_id}"): "adminGetAgent",
    ("put", "/api/admin/agents/{vendor_id}"): "adminUpdateAgent",
    ("delete", "/api/admin/agents/{vendor_id}"): "adminDeregisterAgent",
}


def test_every_agent_route_has_an_operation_id_summary_and_description(settings: Settings) -> None:
    docs = make_settings(settings.database_url, settings.redis_prefix, SWAGGER_ENABLED="true")
    with TestClient(create_app(bootstrap(docs))) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    for (method, path), operation_id in OPERATIONS.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert operation["summary"] and operation["description"]
