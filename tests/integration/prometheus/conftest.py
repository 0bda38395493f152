"""Fixtures for GET /metrics: an app whose processes share a metrics directory, and a scrape parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.prometheus import use_metrics_dir
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.orders.conftest import FAST

METRICS_TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _in_memory_afterwards() -> Iterator[None]:
    """This test's processes recorded into its own directory; the tests after it count in memory again."""
    yield
    use_metrics_dir(None)


@pytest.fixture
def metrics_dir(tmp_path: Path) -> str:
    return str(tmp_path / "metrics")


@pytest.fixture
def metrics_settings(request: pytest.FixtureRequest, clean_db: str, redis_ns: str, metrics_dir: str) -> Settings:
    """Fast order retries, no rate limits, a metrics dir and token, plus a ``@pytest.mark.settings(...)``."""
    marker = request.node.get_closest_marker("settings")
    env = {**FAST, "METRICS_DIR": metrics_dir, "METRICS_TOKEN": METRICS_TOKEN, **(marker.kwargs if marker else {})}
    return make_settings(clean_db, redis_ns, **env)


@pytest.fixture
def api(metrics_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(bootstrap(metrics_settings))) as client:
        yield client


class Scrape:
    """One parsed ``GET /metrics`` answer: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in self.families.values():
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the series does not exist (yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for (sample, labels) in self.samples if sample == name]


def scrape(client: Any, headers: dict[str, str] | None = None) -> Scrape:
    response = client.get("/metrics", headers=headers if headers is not None else admin(client))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.text)


def admin(client: Any) -> dict[str, str]:
    return {"X-API-Key": client.app.state.services.settings.api_secret}
