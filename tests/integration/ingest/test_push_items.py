"""POST /api/sync/items(/batch) over HTTP, real PostgreSQL and Redis: one test per behaviour."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from tests.integration.agent_helpers import register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, items_of, results

Client = TestClient  # type: ignore[type-arg]


def test_a_push_puts_rows_in_the_items_table(client: Client, settings: Settings, agent: dict[str, str]) -> None:
    body = {"items": [item_json("A", description="Golden", barcode="301"), item_json("B", price="2", familyCode=None)]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("processed", "skipped", "failed")} == {"processed": 2, "skipped": 0,
                                                                                  "failed": 0}
    assert results(response) == [("A", "processed", None), ("B", "processed", None)]
    stored = items_of(settings.database_url, "v1")
    a, b = stored["A"], stored["B"]
    assert (a["erp_unit_code"], a["unit_code"], a["erp_vat_code"], a["vat_code"]) == ("KG", "kilogram", "TVA20",
                                                                                      "vat-20")
    assert (a["erp_family_code"], a["family_code"], a["description"], a["barcode"]) == ("FRUIT", "fruit", "Golden",
                                                                                        "301")
    assert a["price"] == Decimal("18.50") and b["price"] == Decimal("2") and b["family_code"] is None
    assert len(a["content_hash"]) == 64 and a["last_synced_at"] is not None and a["active"] is True


def test_the_same_push_again_is_all_unchanged_and_touches_nothing(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json("A"), item_json("B")]}
    assert client.post("/api/sync/items", json=body, headers=agent).status_code == 200
    before = items_of(settings.database_url, "v1")
    again = {"items": [item_json("A", minute=30), item_json("B", minute=30, price="18.5000")]}
    response = client.post("/api/sync/items", json=again, headers=agent)
    assert results(response) == [("A", "skipped", "unchanged"), ("B", "skipped", "unchanged")]
    assert response.json()["skipped"] == 2
    assert items_of(settings.database_url, "v1") == before


def test_an_older_updated_at_is_stale_and_the_row_is_untouched(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    client.post("/api/sync/items", json={"items": [item_json("A", minute=20, name="new")]}, headers=agent)
    before = items_of(settings.database_url, "v1")
    response = client.post("/api/sync/items", json={"items": [item_json("A", minute=10, name="old")]},
                           headers=agent)
    assert results(response) == [("A", "skipped", "stale")]
    assert items_of(settings.database_url, "v1") == before


def test_an_unmapped_unit_fails_that_row_and_the_others_are_written(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json("A"), item_json("B", unitCode="BOX"), item_json("C", vatCode="NOVAT"),
                      item_json("D", familyCode="UNMAPPED")]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert results(response) == [("A", "processed", None), ("B", "failed", "unmapped_unit"),
                                 ("C", "failed", "unmapped_vat"), ("D", "processed", None)]
    assert response.json()["failed"] == 2
    stored = items_of(settings.database_url, "v1")
    assert set(stored) == {"A", "D"} and stored["D"]["family_code"] is None


def test_a_key_repeated_in_one_request_is_skipped_and_the_last_occurrence_is_written(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json("A", name="first"), item_json("B"), item_json("A", name="last")]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert results(response) == [("A", "skipped", "duplicate_in_request"), ("B", "processed", None),
                                 ("A", "processed", None)]
    assert items_of(settings.database_url, "v1")["A"]["name"] == "last"


def test_501_items_on_the_incremental_route_is_413_naming_the_limit(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json(f"S{i}") for i in range(501)]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert response.status_code == 413
    assert "at most 500" in response.json()["detail"]
    assert items_of(settings.database_url, "v1") == {}


def test_the_batch_route_takes_5000_items_and_refuses_5001(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    rows = [item_json(f"S{i:05d}") for i in range(5001)]
    refused = client.post("/api/sync/items/batch", json={"items": rows}, headers=agent)
    assert refused.status_code == 413 and "at most 5000" in refused.json()["detail"]
    accepted = client.post("/api/sync/items/batch", json={"items": rows[:5000]}, headers=agent)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["processed"] == 5000
    assert len(items_of(settings.database_url, "v1")) == 5000


def test_a_body_over_5_mb_on_the_incremental_route_is_413_naming_the_limit(
    client: Client, agent: dict[str, str]
) -> None:
    body = b'{"items": []' + b" " * (5 * 1024 * 1024) + b"}"
    response = client.post("/api/sync/items", content=body, headers={**agent, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "5 MB" in response.json()["detail"]
    assert client.post("/api/sync/items/batch", content=body, headers={**agent, "Content-Type": "application/json"},
                       ).status_code == 200  # the batch route allows 10 MB


def test_an_unknown_field_is_400_naming_its_path_and_nothing_is_written(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    body = {"items": [item_json("A"), {**item_json("B"), "colour": "red"}]}
    response = client.post("/api/sync/items", json=body, headers=agent)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.items[1].colour"
    assert items_of(settings.database_url, "v1") == {}


def test_an_empty_or_malformed_body_is_400_at_the_root(client: Client, agent: dict[str, str]) -> None:
    for body in (b"", b"{", b"[]", b"{}"):
        response = client.post("/api/sync/items", content=body, headers={**agent, "Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["path"] == "$", body


def test_a_bad_decimal_or_a_timestamp_without_offset_is_400_naming_its_path(
    client: Client, agent: dict[str, str]
) -> None:
    for bad, path in (({"price": 18.5}, "$.items[0].price"), ({"price": "1e3"}, "$.items[0].price"),
                      ({"price": "-1"}, "$.items[0].price"), ({"updatedAt": "2026-01-01T08:00:00"},
                                                              "$.items[0].updatedAt")):
        response = client.post("/api/sync/items", json={"items": [item_json("A", **bad)]}, headers=agent)
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["path"] == path


def test_a_nul_character_in_a_string_is_400_naming_its_path(client: Client, settings: Settings,
                                                             agent: dict[str, str]) -> None:
    body = b'{"items": [' + msgspec.json.encode(item_json("A")) + b', {"sku": "B", "name": "x\\u0000y", ' \
        b'"unitCode": "KG", "vatCode": "TVA20", "price": "1", "updatedAt": "2026-01-01T08:00:00Z"}]}'
    response = client.post("/api/sync/items", content=body, headers={**agent, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["path"] == "$.items[1].name"
    assert items_of(settings.database_url, "v1") == {}


def test_the_vendor_comes_from_the_token_and_a_body_naming_another_is_403(
    client: Client, settings: Settings, agent: dict[str, str]
) -> None:
    insert_mappings(settings.database_url, "v2")
    register_agent(client, "v2")
    response = client.post("/api/sync/items", json={"vendorId": "v2", "items": [item_json("A")]}, headers=agent)
    assert response.status_code == 403
    ok = client.post("/api/sync/items", json={"vendorId": "v1", "items": [item_json("A")]}, headers=agent)
    assert ok.status_code == 200
    assert set(items_of(settings.database_url, "v1")) == {"A"} and items_of(settings.database_url, "v2") == {}


def test_a_push_without_a_valid_agent_token_is_401(client: Client, agent: dict[str, str]) -> None:
    body = {"items": [item_json("A")]}
    assert client.post("/api/sync/items", json=body).status_code == 401
    wrong = {**agent, "Authorization": "Bearer not-the-token-0123456789012345678901"}
    assert client.post("/api/sync/items", json=body, headers=wrong).status_code == 401
