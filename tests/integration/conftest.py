"""Integration fixtures: the real app over real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app


@pytest.fixture
def services(settings: Settings) -> Services:
    return bootstrap(settings)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(services)) as test_client:
        yield test_client
