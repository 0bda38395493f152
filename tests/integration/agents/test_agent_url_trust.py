"""agentUrl over HTTP: register and admin update refuse URLs the server must not call, naming $.agentUrl."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.agent_helpers import admin_headers, agent_token, register_agent

Client = TestClient  # type: ignore[type-arg]

BAD_URLS = [
    ("http://exa mple.com:99999/", "spaces"),
    ("http://example.com:99999/", "port"),
    ("http://169.254.169.254/latest/meta-data/", "denied network (169.254.0.0/16"),
    ("http://[fe80::1]/", "denied network (fe80::/10"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://metadata.google.internal/", "cloud metadata"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("http://224.0.0.251/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://user:pass@agent.example.com/", "user info"),
    ("ftp://agent.example.com/", "http"),  # the DTO refuses it first, naming the same path
    ("http:///no-host", "no host"),
    ("http://2852039166/", "not a valid IP address"),
]
GOOD_URLS = ["http://127.0.0.1:9/agent", "https://agent.example.com/erp", "http://[::1]:8080/", "http://localhost:9"]


def _register(client: Client, vendor: str, url: str) -> Any:
    secret = client.app.state.services.settings.agent_secret
    body = {"vendorId": vendor, "agentUrl": url, "authToken": agent_token()}
    return client.post("/api/agents/register", json=body, headers={"Authorization": f"Bearer {secret}"})


def _agent_rows(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM agent_registry").fetchone()
    assert row is not None
    return int(row[0])


def _assert_refused(response: Any, named: str) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert [e["path"] for e in problem["errors"]] == ["$.agentUrl"]
    assert "agentUrl" in problem["detail"] and named in problem["detail"], problem["detail"]


@pytest.mark.parametrize(("url", "named"), BAD_URLS)
def test_registering_an_agent_url_the_server_must_not_call_is_a_400_naming_agent_url(
    api: Client, url: str, named: str
) -> None:
    _assert_refused(_register(api, "v1", url), named)
    assert _agent_rows(api.app.state.services.settings) == 0


@pytest.mark.parametrize("url", GOOD_URLS)
def test_ordinary_agent_urls_register(api: Client, url: str) -> None:
    response = _register(api, "v1", url)
    assert response.status_code == 201, response.text
    assert response.json()["agentUrl"] == url


def test_the_admin_update_refuses_the_same_urls_and_keeps_the_stored_one(api: Client) -> None:
    register_agent(api, "v1", "http://127.0.0.1:9/agent")
    for url, named in BAD_URLS:
        response = api.put("/api/admin/agents/v1", json={"agentUrl": url}, headers=admin_headers(api))
        _assert_refused(response, named)
    assert api.get("/api/admin/agents/v1", headers=admin_headers(api)).json()["agentUrl"] == "http://127.0.0.1:9/agent"

    moved = api.put(
        "/api/admin/agents/v1", json={"agentUrl": "https://agent.example.com/v2"}, headers=admin_headers(api)
    )
    assert moved.status_code == 200 and moved.json()["agentUrl"] == "https://agent.example.com/v2", moved.text


def test_denied_networks_come_from_the_setting(clean_db: str, redis_ns: str) -> None:
    settings = make_settings(
        clean_db, redis_ns, RATE_LIMITS_ENABLED="false", AGENT_URL_DENIED_NETWORKS="127.0.0.0/8,10.0.0.0/8"
    )
    with TestClient(create_app(bootstrap(settings))) as api:
        _assert_refused(_register(api, "v1", "http://127.0.0.1:9/agent"), "denied network (127.0.0.0/8")
        _assert_refused(_register(api, "v1", "http://localhost:9/agent"), "127.0.0.0/8")
        _assert_refused(_register(api, "v1", "http://10.1.2.3/agent"), "10.0.0.0/8")
        assert _register(api, "v1", "http://169.254.169.254/").status_code == 201, "the list replaces the default"
