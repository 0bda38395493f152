"""Agent integration fixtures: the real app with a clock the test drives and alerts it can read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.fakes import FakeClock
from tests.fakes.agents import FakeAlertSink


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def alerts() -> FakeAlertSink:
    return FakeAlertSink()


@pytest.fixture
def driven_services(settings: Settings, clock: FakeClock, alerts: FakeAlertSink) -> Services:
    return bootstrap(settings, clock=clock, alerts=alerts)


@pytest.fixture
def driven_client(driven_services: Services) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(driven_services)) as test_client:
        yield test_client
