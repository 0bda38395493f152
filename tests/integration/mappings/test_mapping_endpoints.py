"""Every mapping admin endpoint over the real app, PostgreSQL and Redis, including its 4xx answers."""

from __future__ import annotations

import uuid

import psycopg
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.mappings.helpers import admin, mapping

BASE = "/api/admin/mappings"


def test_admin_routes_require_the_api_key(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    some_id = uuid.uuid4()
    for method, path in [("GET", BASE), ("POST", BASE), ("GET", f"{BASE}/{some_id}"), ("PUT", f"{BASE}/{some_id}"),
                         ("DELETE", f"{BASE}/{some_id}"), ("POST", f"{BASE}/seed")]:
        response = client.request(method, path, json={}, headers={"X-API-Key": "wrong"})
        assert response.status_code == 401, (method, path, response.text)


def test_create_answers_201_with_the_wire_shape_and_get_reads_it_back(
    client: TestClient, settings: Settings  # type: ignore[type-arg]
) -> None:
    created = client.post(BASE, json=mapping(), headers=admin(settings))
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "vendorId", "mappingType", "erpCode", "restoCode", "restoLabel", "isActive"}
    assert body | {"id": None} == {"id": None, **mapping()}
    fetched = client.get(f"{BASE}/{body['id']}", headers=admin(settings))
    assert fetched.status_code == 200 and fetched.json() == body


def test_create_defaults_label_to_null_and_active_to_true(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    body = {"vendorId": "vendor-1", "mappingType": "vat", "erpCode": "T20", "restoCode": "vat-20"}
    created = client.post(BASE, json=body, headers=admin(settings)).json()
    assert (created["restoLabel"], created["isActive"]) == (None, True)


def test_creating_a_duplicate_is_a_409_naming_the_existing_mapping(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    first = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    client.put(f"{BASE}/{first['id']}", json={"isActive": False}, headers=admin(settings))
    again = client.post(BASE, json=mapping(resto_code="other"), headers=admin(settings))
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["errors"][0]["existingId"] == first["id"]
    assert problem["errors"][0]["existingIsActive"] is False
    assert "already exists" in problem["detail"]


def test_a_bad_create_body_is_a_400_naming_the_field(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    cases = {
        "vendorId": mapping(vendorId="no spaces allowed"),
        "mappingType": mapping(mappingType="colour"),
        "erpCode": mapping(erpCode=""),
        "restoCode": mapping(restoCode="x" * 65),
        "unknownField": mapping(unknownField=1),
    }
    for field, body in cases.items():
        response = client.post(BASE, json=body, headers=admin(settings))
        assert response.status_code == 400, (field, response.text)
        assert field in response.text, (field, response.text)
    blank = client.post(BASE, json=mapping(erpCode="   "), headers=admin(settings))
    assert blank.status_code == 400 and blank.json()["errors"][0]["path"] == "$.erpCode"


def test_put_with_only_a_new_label_changes_the_label_alone(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    updated = client.put(f"{BASE}/{created['id']}", json={"restoLabel": "Kilo (kg)"}, headers=admin(settings))
    assert updated.status_code == 200, updated.text
    assert updated.json() == {**created, "restoLabel": "Kilo (kg)"}
    assert client.get(f"{BASE}/{created['id']}", headers=admin(settings)).json() == updated.json()
    with psycopg.connect(settings.database_url) as conn:
        audited = conn.execute(
            "SELECT action, details->'before'->>'restoLabel', details->'mapping'->>'restoLabel' FROM audit_log "
            "WHERE entity_type = 'mapping' AND entity_id = %s ORDER BY created_at, action",
            (created["id"],),
        ).fetchall()
    assert ("mapping.updated", "Kilogramme", "Kilo (kg)") in audited


def test_put_changes_each_field_it_is_given_and_keeps_the_others(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    for change in ({"restoCode": "kg"}, {"isActive": False}, {"restoLabel": None}, {"isActive": True}):
        answer = client.put(f"{BASE}/{created['id']}", json=change, headers=admin(settings))
        assert answer.status_code == 200, answer.text
        created = {**created, **change}
        assert answer.json() == created


def test_put_with_every_field_moves_and_replaces_the_mapping(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    replaced = client.put(
        f"{BASE}/{created['id']}",
        json={"vendorId": "vendor-2", "mappingType": "vat", "erpCode": "KGM", "restoCode": "kg", "restoLabel": None},
        headers=admin(settings),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {**created, "vendorId": "vendor-2", "mappingType": "vat", "erpCode": "KGM",
                               "restoCode": "kg", "restoLabel": None}


def test_put_on_an_unknown_or_malformed_id_is_a_404(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    unknown = client.put(f"{BASE}/{uuid.uuid4()}", json={"restoLabel": "x"}, headers=admin(settings))
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["type"] == "https://restosync.dev/problems/not-found"
    assert client.put(f"{BASE}/not-a-uuid", json={"restoLabel": "x"}, headers=admin(settings)).status_code == 404
    assert client.get(f"{BASE}/{uuid.uuid4()}", headers=admin(settings)).status_code == 404


def test_put_onto_another_mappings_key_is_a_409_and_changes_nothing(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    client.post(BASE, json=mapping("KG"), headers=admin(settings))
    litre = client.post(BASE, json=mapping("L", "litre"), headers=admin(settings)).json()
    clash = client.put(f"{BASE}/{litre['id']}", json={"erpCode": "KG"}, headers=admin(settings))
    assert clash.status_code == 409, clash.text
    assert client.get(f"{BASE}/{litre['id']}", headers=admin(settings)).json() == litre


def test_put_with_a_bad_body_is_a_400(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    for body, path in (({"restoCode": ""}, "$.restoCode"), ({"restoCode": "  "}, "$.restoCode"),
                       ({"isActive": "yes"}, "$.isActive"), ({"colour": "red"}, "$.colour"), ({}, "$")):
        response = client.put(f"{BASE}/{created['id']}", json=body, headers=admin(settings))
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["path"] == path, (body, response.text)
    assert client.get(f"{BASE}/{created['id']}", headers=admin(settings)).json() == created


def test_delete_removes_the_mapping_and_the_audit_log_keeps_it(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    deleted = client.delete(f"{BASE}/{created['id']}", headers=admin(settings))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == created
    assert client.get(f"{BASE}/{created['id']}", headers=admin(settings)).status_code == 404
    assert client.delete(f"{BASE}/{created['id']}", headers=admin(settings)).status_code == 404
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT 1 FROM erp_code_mappings WHERE id = %s", (created["id"],)).fetchone()
        audited = conn.execute(
            "SELECT details->'mapping' FROM audit_log WHERE action = 'mapping.deleted' AND entity_id = %s",
            (created["id"],),
        ).fetchone()
    assert row is None
    assert audited == ({key: value for key, value in created.items() if key != "id"},)
    again = client.post(BASE, json=mapping(), headers=admin(settings))
    assert again.status_code == 201, again.text


def test_delete_of_an_unknown_id_is_a_404(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    response = client.delete(f"{BASE}/{uuid.uuid4()}", headers=admin(settings))
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")


def test_list_filters_by_vendor_type_and_activity_and_paginates(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    rows = [mapping(f"U{i}") for i in range(5)] + [
        mapping("T20", "vat-20", mappingType="vat"),
        mapping("U0", vendorId="vendor-2", isActive=False),
    ]
    assert client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings)).status_code == 200
    page = client.get(BASE, params={"vendorId": "vendor-1", "mappingType": "unit", "page": 2, "limit": 2},
                      headers=admin(settings)).json()
    assert page["meta"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}
    assert [m["erpCode"] for m in page["data"]] == ["U2", "U3"]
    vat = client.get(BASE, params={"mappingType": "vat"}, headers=admin(settings)).json()
    assert [m["erpCode"] for m in vat["data"]] == ["T20"]
    inactive = client.get(BASE, params={"isActive": "false"}, headers=admin(settings)).json()
    assert [(m["vendorId"], m["erpCode"]) for m in inactive["data"]] == [("vendor-2", "U0")]
    everything = client.get(BASE, headers=admin(settings)).json()
    assert everything["meta"] == {"page": 1, "limit": 50, "total": 7, "totalPages": 1}


def test_list_refuses_bad_query_parameters(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    for params, name in (({"limit": 101}, "limit"), ({"page": 0}, "page"), ({"mappingType": "colour"}, "mappingType"),
                         ({"vendorId": "no spaces"}, "vendorId")):
        response = client.get(BASE, params=params, headers=admin(settings))
        assert response.status_code == 400, (params, response.text)
        assert response.json()["errors"][0]["path"] == name, (params, response.text)


def test_seed_counts_created_updated_unchanged_and_is_idempotent(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    first = client.post(f"{BASE}/seed", json={"mappings": [mapping("A"), mapping("B")]}, headers=admin(settings))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0, "total": 2}
    second_rows = [mapping("A"), mapping("B", "changed"), mapping("C")]
    second = client.post(f"{BASE}/seed", json={"mappings": second_rows}, headers=admin(settings)).json()
    assert second == {"created": 1, "updated": 1, "unchanged": 1, "total": 3}
    again = client.post(f"{BASE}/seed", json={"mappings": second_rows}, headers=admin(settings)).json()
    assert again == {"created": 0, "updated": 0, "unchanged": 3, "total": 3}
    listed = client.get(BASE, headers=admin(settings)).json()["data"]
    assert {(m["erpCode"], m["restoCode"]) for m in listed} == {("A", "kilogram"), ("B", "changed"), ("C", "kilogram")}


def test_seed_reactivates_an_inactive_mapping(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
    client.put(f"{BASE}/{created['id']}", json={"isActive": False}, headers=admin(settings))
    seeded = client.post(f"{BASE}/seed", json={"mappings": [mapping()]}, headers=admin(settings)).json()
    assert seeded["updated"] == 1
    assert client.get(f"{BASE}/{created['id']}", headers=admin(settings)).json()["isActive"] is True


def test_a_seed_with_an_invalid_row_is_a_400_naming_row_and_field_and_writes_nothing(
    client: TestClient, settings: Settings  # type: ignore[type-arg]
) -> None:
    rows = [mapping("A"), mapping("B"), mapping("C"), mapping("D", erpCode=7), mapping("E")]
    typed = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
    assert typed.status_code == 400 and "$.mappings[3].erpCode" in typed.text, typed.text
    rows[3] = mapping("   ")
    blank = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
    assert blank.status_code == 400, blank.text
    assert blank.json()["errors"][0]["path"] == "$.mappings[3].erpCode"
    rows[3] = mapping("A")
    repeated = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
    assert repeated.status_code == 400 and repeated.json()["errors"][0]["path"] == "$.mappings[3].erpCode"
    assert "row 0" in repeated.json()["detail"]
    rows[3] = mapping("A", "again")
    disagreeing = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
    assert disagreeing.status_code == 409, disagreeing.text
    assert disagreeing.json()["errors"][0] == {"path": "$.mappings[3].erpCode", "row": 0}
    assert client.get(BASE, headers=admin(settings)).json()["meta"]["total"] == 0


def test_a_seed_over_the_maximum_is_a_413_naming_the_maximum(clean_db: str, redis_ns: str) -> None:
    settings = make_settings(clean_db, redis_ns, MAPPING_SEED_MAX_ROWS="3")
    with TestClient(create_app(bootstrap(settings))) as client:
        rows = [mapping(f"C{i}") for i in range(4)]
        response = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
        assert response.status_code == 413, response.text
        assert "at most 3" in response.json()["detail"] and "MAPPING_SEED_MAX_ROWS" in response.json()["detail"]
        assert client.get(BASE, headers=admin(settings)).json()["meta"]["total"] == 0
        ok = client.post(f"{BASE}/seed", json={"mappings": rows[:3]}, headers=admin(settings))
        assert ok.status_code == 200 and ok.json()["created"] == 3


def test_a_seed_of_five_thousand_rows_is_accepted_by_default(client: TestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    rows = [mapping(f"C{i}", f"r{i}") for i in range(5000)]
    response = client.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 5000, "updated": 0, "unchanged": 0, "total": 5000}
    over = client.post(f"{BASE}/seed", json={"mappings": [*rows, mapping("one-more")]}, headers=admin(settings))
    assert over.status_code == 413 and "5000" in over.json()["detail"]


def test_the_admin_rate_limit_applies_to_mapping_routes(clean_db: str, redis_ns: str) -> None:
    settings = make_settings(clean_db, redis_ns, RATE_LIMIT_ADMIN_PER_MIN="2")
    with TestClient(create_app(bootstrap(settings))) as client:
        assert client.get(BASE, headers=admin(settings)).status_code == 200
        assert client.post(BASE, json=mapping(), headers=admin(settings)).status_code == 201
        limited = client.post(f"{BASE}/seed", json={"mappings": []}, headers=admin(settings))
        assert limited.status_code == 429, limited.text
        assert "admin" in limited.json()["detail"] and limited.headers["retry-after"]


def test_every_mapping_route_is_in_the_openapi_document(clean_db: str, redis_ns: str) -> None:
    settings = make_settings(clean_db, redis_ns, SWAGGER_ENABLED="true")
    with TestClient(create_app(bootstrap(settings))) as client:
        schema = client.get("/schema/openapi.json").json()
    operations = {
        op["operationId"]: (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith(BASE)
    }
    assert operations == {
        "listMappings": (BASE, "get"),
        "createMapping": (BASE, "post"),
        "getMapping": (BASE + "/{mapping_id}", "get"),
        "updateMapping": (BASE + "/{mapping_id}", "put"),
        "deleteMapping": (BASE + "/{mapping_id}", "delete"),
        "seedMappings": (BASE + "/seed", "post"),
    }
    for path, method in operations.values():
        op = schema["paths"][path][method]
        assert op["summary"] and op["description"] and op["security"] == [{"ApiKey": []}]
