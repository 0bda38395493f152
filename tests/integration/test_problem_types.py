"""One spelling of problem ``type`` URIs whoever raised the error (Litestar or our core), and refused CORS
preflights answered as problem details."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.integration.agent_helpers import admin_headers, register_agent

Client = TestClient  # type: ignore[type-arg]
KEBAB_TYPE = re.compile(r"^https://restosync\.dev/problems/[a-z]+(-[a-z]+)*$")


def _type(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem_type: str = response.json()["type"]
    assert KEBAB_TYPE.match(problem_type), problem_type
    return problem_type


def test_the_same_kind_of_error_has_the_same_kebab_case_type_from_litestar_and_from_the_core(api: Client) -> None:
    admin = admin_headers(api)
    types = {
        "404 route (Litestar)": _type(api.get("/no/such/route"), 404),
        "404 NotFound (core)": _type(api.get(f"/api/orders/{uuid.uuid4()}", headers=admin), 404),
        "400 query validation (Litestar)": _type(api.get("/api/admin/sync-jobs?page=abc", headers=admin), 400),
        "404 path not a uuid (Litestar)": _type(api.get("/api/admin/sync-jobs/not-a-uuid", headers=admin), 404),
        "400 ValidationFailed (core)": _type(api.get("/api/admin/sync-jobs?page=0", headers=admin), 400),
        "400 body (DTO)": _type(api.post("/api/orders", json={"vendorId": "v"}, headers=admin), 400),
        "413 (Litestar)": _type(
            api.post("/api/orders", content=b"x" * (10 * 1024 * 1024 + 1),
                     headers={**admin, "content-type": "application/json"}),
            413,
        ),
        "401 (guard)": _type(api.get("/api/admin/sync-jobs"), 401),
        "405 (Litestar)": _type(api.delete("/api/admin/sync-jobs", headers=admin), 405),
    }
    by_kind: dict[str, set[str]] = {name.split(" ")[0]: set() for name in types}
    for name, problem_type in types.items():
        by_kind[name.split(" ")[0]].add(problem_type)
    base = "https://restosync.dev/problems/"
    assert by_kind == {
        "404": {base + "not-found"},
        "400": {base + "validation-failed"},
        "413": {base + "payload-too-large"},
        "401": {base + "unauthenticated"},
        "405": {base + "method-not-allowed"},
    }


def test_a_core_payload_too_large_and_litestars_413_share_a_type(api: Client) -> None:
    headers = register_agent(api, "vendor-1")
    rows = [{"warehouseId": f"W{i}", "name": "w", "updatedAt": "2024-01-01T00:00:00Z"} for i in range(501)]
    core = api.post("/api/sync/warehouses", json={"warehouses": rows}, headers=headers)
    litestar = api.post("/api/orders", content=b"x" * (10 * 1024 * 1024 + 1),
                        headers={**admin_headers(api), "content-type": "application/json"})
    assert _type(core, 413) == _type(litestar, 413) == "https://restosync.dev/problems/payload-too-large"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, "https://evil.example"),
        ({"Access-Control-Request-Method": "TRACE"}, "TRACE"),
        ({"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-Evil"}, "X-Evil"),
    ],
)
def test_a_refused_cors_preflight_is_a_problem_with_the_security_headers(
    api: Client, headers: dict[str, str], named: str
) -> None:
    allowed_origin = api.app.state.services.settings.frontend_url
    response = api.options("/api/admin/sync-jobs", headers={"Origin": allowed_origin, **headers})
    assert _type(response, 400) == "https://restosync.dev/problems/cors-refused"
    body = response.json()
    assert named in body["detail"] and body["requestId"] == response.headers["x-request-id"]
    assert body["instance"] == "/api/admin/sync-jobs"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "access-control-allow-origin" not in response.headers


def test_an_allowed_cors_preflight_is_still_answered_by_litestar(api: Client) -> None:
    origin = api.app.state.services.settings.frontend_url
    response = api.options("/api/admin/sync-jobs", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == origin
