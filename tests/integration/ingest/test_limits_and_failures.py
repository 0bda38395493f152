"""Rate limits, a database failure in the middle of a request, and two overlapping pushes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.integration.agent_helpers import agent_token, register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, items_of, results
from tests.waiting import wait_until_async


def test_incremental_and_batch_pushes_have_their_own_per_agent_rate_limits(client_with: Callable[..., Any]) -> None:
    with client_with(RATE_LIMIT_SYNC_PER_MIN="2", RATE_LIMIT_SYNC_BATCH_PER_MIN="1") as (client, settings):
        insert_mappings(settings.database_url, "v1")
        headers = register_agent(client, "v1")
        body = {"items": [item_json("A")]}
        assert [client.post("/api/sync/items", json=body, headers=headers).status_code for _ in range(2)] == [200, 200]
        limited = client.post("/api/sync/stock", json={"stock": []}, headers=headers)
        assert limited.status_code == 429 and "'sync'" in limited.json()["detail"]
        assert "Retry-After" in limited.headers
        assert client.post("/api/sync/items/batch", json=body, headers=headers).status_code == 200
        batch_limited = client.post("/api/sync/warehouses/batch", json={"warehouses": []}, headers=headers)
        assert batch_limited.status_code == 429 and "'sync-batch'" in batch_limited.json()["detail"]


FAIL_ON_BOOM = """
CREATE FUNCTION ingest_test_fail_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sku = 'BOOM' THEN
        RAISE EXCEPTION 'simulated statement timeout' USING ERRCODE = 'query_canceled';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ingest_test_fail_on_boom BEFORE INSERT OR UPDATE ON items
    FOR EACH ROW EXECUTE FUNCTION ingest_test_fail_on_boom();
"""
DROP_FAIL_ON_BOOM = """
DROP TRIGGER IF EXISTS ingest_test_fail_on_boom ON items;
DROP FUNCTION IF EXISTS ingest_test_fail_on_boom();
"""


def test_a_database_failure_mid_request_is_a_5xx_and_nothing_of_the_request_is_written(
    client_with: Callable[..., Any],
) -> None:
    with client_with(INGEST_CHUNK_SIZE="2") as (client, settings):
        url = settings.database_url
        insert_mappings(url, "v1")
        headers = register_agent(client, "v1")
        client.post("/api/sync/items", json={"items": [item_json("A", name="kept")]}, headers=headers)
        # Sorted A, B | BOOM, C: the first chunk is written, the second fails inside the same transaction.
        body = {"items": [item_json("C"), item_json("A", name="changed", minute=5), item_json("BOOM"),
                          item_json("B")]}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FAIL_ON_BOOM)
        try:
            response = client.post("/api/sync/items", json=body, headers=headers)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(DROP_FAIL_ON_BOOM)
        assert response.status_code == 503, response.text
        stored = items_of(url, "v1")
        assert set(stored) == {"A"} and stored["A"]["name"] == "kept"
        retried = client.post("/api/sync/items", json=body, headers=headers)  # retrying is safe
        assert retried.json()["processed"] == 4
        assert set(items_of(url, "v1")) == {"A", "B", "BOOM", "C"}


LOCK_WAITERS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s
"""


async def _wait_for_lock_waiters(conn: psycopg.AsyncConnection[Any], count: int) -> None:
    async def waiting() -> bool:
        row = await (await conn.execute(LOCK_WAITERS, ('%INSERT INTO "items"%',))).fetchone()
        return row is not None and row[0] >= count

    await wait_until_async(waiting, 10, f"{count} push(es) to wait on the row lock", every=0.01)


@pytest.mark.parametrize("path", ["/api/sync/items", "/api/sync/items/batch"])
def test_two_concurrent_pushes_of_the_same_rows_leave_the_newer_one_standing(settings: Settings, path: str) -> None:
    """Both pushes decided to write before either wrote (the batch one even read v0 first); the
    upsert's guard, evaluated on the locked row, still refuses the older one."""
    url = settings.database_url
    insert_mappings(url, "v1")

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        services = bootstrap(settings)
        await services.start()
        app = create_app(services, manage_services=False)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                token = agent_token()
                registered = await client.post(
                    "/api/agents/register", json={"vendorId": "v1", "agentUrl": "http://127.0.0.1:9/a",
                                                  "authToken": token},
                    headers={"Authorization": f"Bearer {settings.agent_secret}"})
                assert registered.status_code in (200, 201), registered.text
                headers = {"Authorization": f"Bearer {token}", "X-Vendor-ID": "v1"}
                seed = {"items": [item_json("A", name="v0"), item_json("B", name="v0")]}
                assert (await client.post("/api/sync/items", json=seed, headers=headers)).status_code == 200

                newer = {"items": [item_json("A", minute=20, name="v20"), item_json("B", minute=20, name="v20")]}
                older = {"items": [item_json("A", minute=10, name="v10"), item_json("B", minute=10, name="v10")]}
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher, \
                        await psycopg.AsyncConnection.connect(url) as locker:
                    await locker.execute("SELECT 1 FROM items WHERE vendor_id = 'v1' AND sku = 'A' FOR UPDATE")
                    newer_task = asyncio.create_task(client.post(path, json=newer, headers=headers))
                    await _wait_for_lock_waiters(watcher, 1)
                    older_task = asyncio.create_task(client.post(path, json=older, headers=headers))
                    await _wait_for_lock_waiters(watcher, 2)
                    await locker.rollback()  # both have read v0; the newer push gets the lock first
                    return await newer_task, await older_task
        finally:
            await services.stop()

    newer_response, older_response = asyncio.run(scenario())
    assert results(newer_response) == [("A", "processed", None), ("B", "processed", None)]
    assert results(older_response) == [("A", "skipped", "stale"), ("B", "skipped", "stale")]
    assert {sku: row["name"] for sku, row in items_of(url, "v1").items()} == {"A": "v20", "B": "v20"}


def test_the_push_routes_document_their_body_and_their_problems_in_openapi(client_with: Callable[..., Any]) -> None:
    with client_with(SWAGGER_ENABLED="true") as (client, _):
        spec = client.get("/schema/openapi.json").json()
    for path, body in (("/api/sync/items", "ItemsPush"), ("/api/sync/stock/batch", "StockPush"),
                       ("/api/sync/warehouses", "WarehousesPush")):
        operation = spec["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(body)
        assert {"200", "400", "401", "403", "413", "429", "503"} <= set(operation["responses"])
    price = spec["components"]["schemas"]["ItemIn"]["properties"]["price"]
    assert price["type"] == "string" and "pattern" in price
