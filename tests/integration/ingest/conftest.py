"""Ingest integration fixtures: a registered agent whose vendor has the usual mappings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.agent_helpers import register_agent
from tests.integration.ingest.helpers import insert_mappings

VENDOR = "v1"


@pytest.fixture
def agent(client: TestClient, settings: Settings) -> dict[str, str]:  # type: ignore[type-arg]
    """Headers of v1's registered agent; v1 maps KG, TVA20 and FRUIT."""
    insert_mappings(settings.database_url, VENDOR)
    return register_agent(client, VENDOR)


@pytest.fixture
def client_with(clean_db: str, redis_ns: str) -> Callable[..., object]:
    """``with client_with(INGEST_CHUNK_SIZE="2") as (client, settings):`` the app on other settings."""

    @contextmanager
    def build(**env: str) -> Iterator[tuple[TestClient, Settings]]:  # type: ignore[type-arg]
        settings = make_settings(clean_db, redis_ns, **env)
        with TestClient(create_app(bootstrap(settings))) as client:
            yield client, settings

    return build
