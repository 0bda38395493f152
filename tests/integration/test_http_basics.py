"""What every response shares: security headers, request ids, problem details, CORS, body limits, docs gating."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar import get, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from restosync_http.dto.base import Dto
from tests.conftest import make_settings


class Thing(Dto):
    name: str
    price: str


@post("/test/things", status_code=201)
async def create_thing(data: JSONBody[Thing]) -> dict[str, str]:
    return {"name": data.name}


@post("/test/small", request_max_body_size=1024)
async def small_body(data: JSONBody[Thing]) -> dict[str, str]:
    return {"name": data.name}


@get("/test/boom")
async def boom() -> None:
    raise RuntimeError("SELECT secret FROM users -- this must never reach a client")


TEST_ROUTES = [create_thing, small_body, boom]


def _client(settings: Settings) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(bootstrap(settings), extra_routes=TEST_ROUTES))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with _client(settings) as c:
        yield c


def _assert_security_headers(response) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    assert headers["x-content-type-options"] == "nosniff"
    assert "max-age=" in headers["strict-transport-security"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def _assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    assert body["requestId"] == response.headers["x-request-id"]
    return body


def test_a_404_has_headers_request_id_and_problem_details(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/no/such/route")
    _assert_security_headers(response)
    body = _assert_problem(response, 404)
    assert body["instance"] == "/no/such/route"


def test_a_400_names_the_bad_field(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/test/things", json={"name": "x", "price": 12})
    _assert_security_headers(response)
    body = _assert_problem(response, 400)
    assert body["errors"][0]["path"] == "$.price"


def test_unknown_json_fields_are_rejected(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/test/things", json={"name": "x", "price": "1.00", "isAdmin": True})
    body = _assert_problem(response, 400)
    assert "isAdmin" in body["detail"]


def test_malformed_json_is_a_400(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/test/things", content=b"{not json", headers={"content-type": "application/json"})
    _assert_problem(response, 400)


def test_a_413_over_the_body_limit(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/test/small", json={"name": "x" * 2000, "price": "1"})
    _assert_security_headers(response)
    _assert_problem(response, 413)
    assert response.headers["x-request-id"]


def test_the_app_wide_limit_is_10_mb(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.post("/test/things", json={"name": "x" * (10 * 1024 * 1024), "price": "1"})
    _assert_problem(response, 413)


def test_an_unexpected_error_is_a_500_without_stack_or_sql(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/test/boom")
    _assert_security_headers(response)
    body = _assert_problem(response, 500)
    assert "SELECT" not in response.text and "Traceback" not in response.text and "RuntimeError" not in response.text
    assert body["requestId"]


def test_a_valid_request_id_is_echoed_and_a_missing_one_generated(client: TestClient) -> None:  # type: ignore[type-arg]
    given = "req-" + uuid.uuid4().hex
    assert client.get("/health", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    generated = client.get("/health").headers["x-request-id"]
    assert uuid.UUID(generated)


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert uuid.UUID(response.headers["x-request-id"])


def test_every_log_line_of_a_request_carries_its_id(
    client: TestClient, capfd: pytest.CaptureFixture[str]  # type: ignore[type-arg]
) -> None:
    from restosync_adapters.logging import configure_logging

    configure_logging("INFO")
    client.get("/test/boom", headers={"X-Request-ID": "trace-me-123"})
    lines = [line for line in capfd.readouterr().err.splitlines() if "trace-me-123" in line]
    assert any('"unhandled error"' in line for line in lines)
    assert any('"request"' in line and '"status": 500' in line for line in lines)


def test_cors_allows_only_the_frontend_and_base_urls(client: TestClient) -> None:  # type: ignore[type-arg]
    settings = client.app.state.services.settings
    allowed = client.options(
        "/health", headers={"Origin": settings.frontend_url, "Access-Control-Request-Method": "GET"}
    )
    assert allowed.headers.get("access-control-allow-origin") == settings.frontend_url
    denied = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers


def test_openapi_and_docs_are_absent_by_default(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/schema", "/schema/openapi.json", "/schema/swagger"):
        assert client.get(path).status_code == 404, path


def test_openapi_and_docs_are_served_when_enabled(clean_db: str, redis_ns: str) -> None:
    with _client(make_settings(clean_db, redis_ns, SWAGGER_ENABLED="true")) as client:
        schema = client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/health" in schema.json()["paths"]
        assert client.get("/schema/swagger").status_code == 200
