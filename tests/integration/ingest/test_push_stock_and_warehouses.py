"""POST /api/sync/stock and /api/sync/warehouses over HTTP, real PostgreSQL and Redis."""

from __future__ import annotations

from decimal import Decimal

from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from tests.integration.ingest.helpers import item_json, results, rows_of, stock_json, warehouse_json

Client = TestClient  # type: ignore[type-arg]

STOCK_ROWS = """
SELECT i.sku, w.erp_warehouse_id AS code, s.quantity, s.last_synced_at
FROM stock s JOIN items i ON i.id = s.item_id JOIN warehouses w ON w.id = s.warehouse_id
WHERE s.vendor_id = %s ORDER BY 1, 2
"""


def _catalogue(client: Client, agent: dict[str, str]) -> None:
    assert client.post("/api/sync/items", json={"items": [item_json("A"), item_json("B")]},
                       headers=agent).status_code == 200
    assert client.post("/api/sync/warehouses", json={"warehouses": [warehouse_json("WH-1")]},
                       headers=agent).status_code == 200


def test_a_warehouse_push_puts_rows_in_the_warehouses_table_then_is_unchanged(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"warehouses": [warehouse_json("WH-1", address="1 rue de la Paix"), warehouse_json("WH-2", active=False)]}
    response = client.post("/api/sync/warehouses", json=body, headers=agent)
    assert results(response) == [("WH-1", "processed", None), ("WH-2", "processed", None)]
    stored = rows_of(settings.database_url, "SELECT * FROM warehouses WHERE vendor_id = 'v1' ORDER BY 1")
    by_code = {row["erp_warehouse_id"]: row for row in stored}
    assert by_code["WH-1"]["address"] == "1 rue de la Paix" and by_code["WH-2"]["active"] is False
    again = client.post("/api/sync/warehouses/batch", json=body, headers=agent)
    assert results(again) == [("WH-1", "skipped", "unchanged"), ("WH-2", "skipped", "unchanged")]


def test_a_stock_push_puts_rows_in_the_stock_table(client: Client, settings: Settings, agent: dict[str, str]) -> None:
    _catalogue(client, agent)
    response = client.post("/api/sync/stock", json={"stock": [stock_json("A", "WH-1", "12.5"),
                                                              stock_json("B", "WH-1", "-2")]}, headers=agent)
    assert results(response) == [("A", "WH-1", "processed", None), ("B", "WH-1", "processed", None)]
    stored = rows_of(settings.database_url, STOCK_ROWS, "v1")
    assert [(r["sku"], r["code"], r["quantity"]) for r in stored] == [("A", "WH-1", Decimal("12.5")),
                                                                      ("B", "WH-1", Decimal("-2"))]
    assert all(r["last_synced_at"] is not None for r in stored)


def test_stock_for_an_unknown_warehouse_or_item_fails_and_the_rest_is_written(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    _catalogue(client, agent)
    body = {"stock": [stock_json("A", "WH-404"), stock_json("Z", "WH-1"), stock_json("B", "WH-1")]}
    response = client.post("/api/sync/stock", json=body, headers=agent)
    assert results(response) == [("A", "WH-404", "failed", "unknown_warehouse"),
                                 ("Z", "WH-1", "failed", "unknown_item"), ("B", "WH-1", "processed", None)]
    assert [(r["sku"], r["code"]) for r in rows_of(settings.database_url, STOCK_ROWS, "v1")] == [("B", "WH-1")]


def test_stock_is_unchanged_then_stale_then_updated(client: Client, settings: Settings, agent: dict[str, str]) -> None:
    _catalogue(client, agent)
    client.post("/api/sync/stock", json={"stock": [stock_json("A", "WH-1", "5", minute=10)]}, headers=agent)
    same = client.post("/api/sync/stock/batch", json={"stock": [stock_json("A", "WH-1", "5.00", minute=11)]},
                       headers=agent)
    older = client.post("/api/sync/stock", json={"stock": [stock_json("A", "WH-1", "9", minute=5)]}, headers=agent)
    newer = client.post("/api/sync/stock", json={"stock": [stock_json("A", "WH-1", "7", minute=12)]}, headers=agent)
    assert [results(r)[0][2:] for r in (same, older, newer)] == [("skipped", "unchanged"), ("skipped", "stale"),
                                                               ("processed", None)]
    assert rows_of(settings.database_url, STOCK_ROWS, "v1")[0]["quantity"] == Decimal("7")


def test_a_stock_key_repeated_in_one_request_keeps_the_last(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    _catalogue(client, agent)
    body = {"stock": [stock_json("A", "WH-1", "1"), stock_json("A", "WH-1", "2")]}
    response = client.post("/api/sync/stock", json=body, headers=agent)
    assert results(response) == [("A", "WH-1", "skipped", "duplicate_in_request"), ("A", "WH-1", "processed", None)]
    assert rows_of(settings.database_url, STOCK_ROWS, "v1")[0]["quantity"] == Decimal("2")
