"""GET /metrics over HTTP: who may read it, its format, and requests counted by route template."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.prometheus.conftest import METRICS_TOKEN, admin, scrape

Client = TestClient  # type: ignore[type-arg]

REQUESTS = "restosync_http_requests_total"
DURATION_COUNT = "restosync_http_request_duration_seconds_count"


def test_metrics_need_the_admin_key_or_the_metrics_token(api: Client) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong-token-0123456789"},
                    {"Authorization": f"Basic {METRICS_TOKEN}"}):
        refused = api.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["content-type"] == "application/problem+json"
        assert "METRICS_TOKEN" in refused.json()["detail"]
    scraped = api.get("/metrics", headers=admin(api))
    assert scraped.status_code == 200
    assert scraped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert api.get("/metrics", headers=token).status_code == 200
    assert api.get("/metrics", headers={**token, "X-API-Key": "wrong"}).status_code == 401  # a key sent decides


def test_without_a_metrics_token_only_the_admin_key_reads_them(settings: Settings) -> None:
    with TestClient(create_app(bootstrap(settings))) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 401
        assert client.get("/metrics", headers=admin(client)).status_code == 200


def test_the_answer_is_the_prometheus_text_format_with_help_for_every_family(api: Client) -> None:
    api.get("/health")
    families = scrape(api).families
    expected = {
        "restosync_http_requests", "restosync_http_request_duration_seconds", "restosync_queue_depth",
        "restosync_dead_letters_open", "restosync_circuit_breaker_state", "restosync_agents",
        "restosync_scrape_source_up",
    }
    assert expected <= set(families), sorted(families)
    for name in expected - {"restosync_circuit_breaker_state"}:  # no breaker has seen a call yet: no series
        assert families[name].documentation, name
        assert families[name].samples, name
    assert families["restosync_http_requests"].type == "counter"
    assert families["restosync_http_request_duration_seconds"].type == "histogram"
    assert families["restosync_queue_depth"].type == "gauge"


def test_requests_are_counted_by_method_route_template_and_status(api: Client) -> None:
    before = scrape(api)
    missing = uuid.uuid4()
    for _ in range(3):
        assert api.get(f"/api/admin/dlq/{missing}", headers=admin(api)).status_code == 404
    assert api.get("/api/admin/dlq", headers=admin(api)).status_code == 200
    assert api.get("/api/admin/dlq").status_code == 401
    assert api.get(f"/no/such/{missing}").status_code == 404
    after = scrape(api)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    letter = "/api/admin/dlq/{letter_id}"
    assert moved(REQUESTS, method="GET", route=letter, status="404") == 3
    assert moved(DURATION_COUNT, method="GET", route=letter) == 3
    assert moved(REQUESTS, method="GET", route="/api/admin/dlq", status="200") == 1
    assert moved(REQUESTS, method="GET", route="/api/admin/dlq", status="401") == 1
    assert moved(REQUESTS, method="GET", route="<unmatched>", status="404") == 1
    routes = {labels["route"] for labels in after.series(REQUESTS)}
    assert not any(str(missing) in route for route in routes), routes  # never a raw path


def test_the_latency_histogram_has_cumulative_buckets_up_to_inf(api: Client) -> None:
    for _ in range(4):
        api.get("/health")
    after = scrape(api)
    labels = {"method": "GET", "route": "/health"}
    buckets = sorted(
        ((float(s["le"]), after.value("restosync_http_request_duration_seconds_bucket", **s))
         for s in after.series("restosync_http_request_duration_seconds_bucket")
         if s["route"] == "/health" and s["method"] == "GET"),
    )
    counts = [count for _, count in buckets]
    assert counts == sorted(counts) and buckets[-1][0] == float("inf")
    assert buckets[-1][1] == after.value(DURATION_COUNT, **labels) >= 4
    assert after.value("restosync_http_request_duration_seconds_sum", **labels) > 0


def test_a_made_up_method_is_counted_as_other_not_as_a_new_series(api: Client) -> None:
    api.request("BREW", "/health")
    methods = {labels["method"] for labels in scrape(api).series(REQUESTS)}
    assert "BREW" not in methods and "OTHER" in methods


@pytest.mark.settings(RATE_LIMITS_ENABLED="true", RATE_LIMIT_ADMIN_PER_MIN="3")
def test_scrapes_have_an_allowance_of_their_own_apart_from_the_admin_routes(api: Client) -> None:
    for _ in range(3):
        assert api.get("/metrics", headers=admin(api)).status_code == 200
    refused = api.get("/metrics", headers=admin(api))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json" and "Retry-After" in refused.headers
    assert "'metrics'" in refused.json()["detail"]
    assert api.get("/api/admin/dlq", headers=admin(api)).status_code == 200  # the admin allowance is untouched
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert api.get("/metrics", headers=token).status_code == 200  # another scraper, another count


def test_a_relative_metrics_dir_or_a_short_token_stops_start_up(clean_db: str, redis_ns: str) -> None:
    from restosync_adapters.settings import SettingsError

    with pytest.raises(SettingsError) as caught:
        make_settings(clean_db, redis_ns, METRICS_DIR="metrics", METRICS_TOKEN="short")
    assert [p.split("=")[0].split(" ")[0] for p in caught.value.problems] == ["METRICS_DIR", "METRICS_TOKEN"]
