"""A plain ``OPTIONS`` lists every method of its path (Litestar 2.25 alone lists those of the first handlers)."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import TestClient

from restosync_http.app import create_app
from tests.fakes import FakeClock, FakeDatabase
from tests.unit.services import unit_services


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        (f"/api/admin/mappings/{uuid.uuid4()}", "DELETE, GET, OPTIONS, PUT"),
        ("/api/admin/mappings", "GET, OPTIONS, POST"),
        ("/api/admin/agents/vendor-1", "DELETE, GET, OPTIONS, PUT"),
        ("/api/agents/vendor-1", "DELETE, GET, OPTIONS"),
        ("/api/admin/dlq", "GET, OPTIONS"),
    ],
)
def test_options_answers_every_method_of_the_path(path: str, allow: str) -> None:
    services = unit_services(FakeDatabase(), FakeClock())
    with TestClient(create_app(services, manage_services=False)) as client:
        response = client.options(path, headers={"X-API-Key": services.settings.api_secret})
    assert response.status_code == 204
    assert response.headers["allow"] == allow
