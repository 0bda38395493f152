"""What an incremental push costs the database and Redis: unchanged rows untouched, one Redis round trip.

Real PostgreSQL and Redis, over HTTP. An unchanged re-push must write and lock
nothing (``xmin`` and ``xmax`` of its rows stay as they were), a concurrent
newer push must still win over an older one that read before it committed,
and an agent request must cost one Redis round trip once its token is cached.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
import redis
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.integration.agent_helpers import admin_headers
from tests.integration.ingest.helpers import at, item_json, items_of, results, rows_of
from tests.waiting import wait_until

Client = TestClient  # type: ignore[type-arg]

SKUS = [f"S{i:02d}" for i in range(20)]


def versions(url: str) -> dict[str, tuple[str, str]]:
    """(xmin, xmax) of v1's item rows: a write changes xmin, a row lock sets xmax."""
    rows = rows_of(url, "SELECT sku, xmin::text AS xmin, xmax::text AS xmax FROM items WHERE vendor_id = 'v1'")
    return {r["sku"]: (r["xmin"], r["xmax"]) for r in rows}


@pytest.mark.parametrize("path", ["/api/sync/items", "/api/sync/items/batch"], ids=["incremental", "batch"])
def test_an_unchanged_re_push_writes_and_locks_nothing(
    client: Client, settings: Settings, agent: dict[str, str], path: str
) -> None:
    body = {"items": [item_json(sku) for sku in SKUS]}
    assert client.post(path, json=body, headers=agent).json()["processed"] == len(SKUS)
    before = versions(settings.database_url)
    assert all(xmax == "0" for _, xmax in before.values())

    again = client.post(path, json=body, headers=agent)
    assert again.status_code == 200, again.text
    assert {r[-2:] for r in results(again)} == {("skipped", "unchanged")}
    assert versions(settings.database_url) == before  # not written (xmin), not locked (xmax)


def test_a_re_push_with_some_rows_changed_writes_only_those(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    assert client.post("/api/sync/items", json={"items": [item_json(s) for s in SKUS]}, headers=agent).is_success
    before = versions(settings.database_url)
    changed = set(SKUS[::5])
    body = {"items": [item_json(s, minute=5, price="9.99") if s in changed else item_json(s) for s in SKUS]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert response.json()["processed"] == len(changed) and response.json()["skipped"] == len(SKUS) - len(changed)
    after = versions(settings.database_url)
    assert {s for s in SKUS if after[s] != before[s]} == changed


def test_a_concurrent_newer_push_wins_over_an_older_one_that_read_before_it_committed(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    """The older push reads the stored row, decides to write, and finds it locked by the newer one;
    when the newer one commits, the upsert's guard refuses the older row: stale, nothing lost."""
    url = settings.database_url
    assert client.post("/api/sync/items", json={"items": [item_json("A")]}, headers=agent).is_success
    answer: dict[str, Any] = {}
    with psycopg.connect(url) as newer:  # a concurrent push of minute 30, not yet committed
        newer.execute(
            "UPDATE items SET name = 'newer', content_hash = 'newer-hash', erp_updated_at = %s"
            " WHERE vendor_id = 'v1' AND sku = 'A'",
            (at(30),),
        )

        def older_push() -> None:
            body = {"items": [item_json("A", minute=10, name="older")]}
            answer["response"] = client.post("/api/sync/items", json=body, headers=agent)

        pusher = threading.Thread(target=older_push)
        pusher.start()

        def older_push_waits_for_the_row_lock() -> bool:
            waiting = rows_of(
                url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'",
            )
            return bool(waiting[0]["n"])

        wait_until(older_push_waits_for_the_row_lock, 10, "the older push to wait for the newer one's row lock")
        newer.commit()
        pusher.join(timeout=10)
    assert not pusher.is_alive()
    assert results(answer["response"]) == [("A", "skipped", "stale")]
    stored = items_of(url, "v1")["A"]
    assert (stored["name"], stored["content_hash"]) == ("newer", "newer-hash")


def _client_commands(settings: Settings, action: Any) -> list[str]:
    """The commands clients sent to Redis under this test's prefix while ``action`` ran (scripts' own excluded)."""
    marker = f"{settings.redis_prefix}:monitor-end:{time.monotonic_ns()}"
    seen: list[str] = []
    monitor_client = redis.Redis.from_url(settings.redis_url)
    ready = threading.Event()

    def watch() -> None:
        with monitor_client.monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                text = command["command"]
                if marker in text:
                    return
                if command.get("client_type") != "lua" and settings.redis_prefix in text:
                    seen.append(text)

    watcher = threading.Thread(target=watch)
    watcher.start()
    ready.wait(5)
    time.sleep(0.2)  # MONITOR is in place once the server answered it; the listen loop is then reading
    try:
        action()
    finally:
        redis.Redis.from_url(settings.redis_url).get(marker)
        watcher.join(timeout=10)
        monitor_client.close()
    return seen


@pytest.mark.parametrize("rate_limits", ["true", "false"])
def test_an_agent_push_costs_one_redis_round_trip_once_its_token_is_cached(
    clean_db: str, redis_ns: str, agent: dict[str, str], rate_limits: str
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(clean_db, redis_ns, RATE_LIMITS_ENABLED=rate_limits)
    body = {"items": [item_json(s) for s in SKUS]}
    with TestClient(create_app(bootstrap(settings))) as client:
        assert client.post("/api/sync/items", json=body, headers=agent).is_success  # token cached, mappings read

        def push() -> None:
            response = client.post("/api/sync/items", json=body, headers=agent)
            assert response.json()["skipped"] == len(SKUS)

        commands = _client_commands(settings, push)
    assert len(commands) == 1, commands
    assert commands[0].startswith("EVALSHA")


def test_a_mapping_created_through_another_api_process_is_used_by_the_next_push(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json("A", unitCode="LB")]}
    assert results(client.post("/api/sync/items", json=body, headers=agent)) == [("A", "failed", "unmapped_unit")]
    with TestClient(create_app(bootstrap(settings))) as other:
        created = other.post(
            "/api/admin/mappings", headers=admin_headers(other),
            json={"vendorId": "v1", "mappingType": "unit", "erpCode": "LB", "restoCode": "pound"},
        )
        assert created.status_code == 201, created.text
    assert results(client.post("/api/sync/items", json=body, headers=agent)) == [("A", "processed", None)]
    assert items_of(settings.database_url, "v1")["A"]["unit_code"] == "pound"
