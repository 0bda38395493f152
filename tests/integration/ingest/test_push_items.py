"""POST /api/sync/items over HTTP, real PostgreSQL and Redis."""

from __future__ import annotations

from decimal import Decimal

from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from tests.integration.agent_helpers import register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, items_of, results

Client = TestClient  # type: ignore[type-arg]


def test_a_push_puts_rows_in_the_items_table(client: Client, settings: Settings) -> None:
    insert_mappings(settings.database_url, "v1")
    headers = register_agent(client, "v1")
    response = client.post("/api/sync/items", json={"items": [item_json("A"), item_json("B", price="2")]},
                           headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["processed"] == 2
    assert results(response) == [("A", "processed", None), ("B", "processed", None)]
    stored = items_of(settings.database_url, "v1")
    assert stored["A"]["unit_code"] == "kilogram" and stored["A"]["erp_unit_code"] == "KG"
    assert stored["B"]["price"] == Decimal("2")
    assert stored["A"]["last_synced_at"] is not None
