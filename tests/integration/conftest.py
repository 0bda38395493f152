"""Integration fixtures: the real app over real PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import create_database, drop_database, make_settings


@pytest.fixture
def services(settings: Settings) -> Services:
    return bootstrap(settings)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def quiet_settings(clean_db: str, redis_ns: str) -> Settings:
    """This test's database and Redis prefix, with rate limits off (tests that send many requests)."""
    return make_settings(clean_db, redis_ns, RATE_LIMITS_ENABLED="false")


@pytest.fixture
def api(quiet_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The real app on ``quiet_settings`` (tests/integration/orders has its own, on faster retries)."""
    with TestClient(create_app(bootstrap(quiet_settings))) as test_client:
        yield test_client


@pytest.fixture
def empty_db() -> Iterator[str]:
    """A database of the test's own with no schema (the migration tests migrate it themselves)."""
    name = f"restosync_mig_{uuid.uuid4().hex[:10]}"
    url = create_database(name)
    yield url
    drop_database(name)
