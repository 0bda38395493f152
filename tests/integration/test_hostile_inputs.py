"""Hostile inputs over HTTP against real PostgreSQL and Redis: each is a 400 naming its path and limit, never a 500,
and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from restosync_adapters.settings import Settings
from restosync_core.model.pagination import MAX_LIMIT, MAX_PAGE
from restosync_http.dto.agents import MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH
from restosync_http.dto.base import MAX_JSON_DEPTH
from tests.integration.agent_helpers import admin_headers, register_agent

Client = TestClient  # type: ignore[type-arg]
TABLES = ("orders", "order_lines", "sync_jobs", "erp_code_mappings", "agent_registry", "audit_log")


def _snapshot(settings: Settings) -> dict[str, str]:
    """Every row of the tables these endpoints write, as text: equal snapshots mean nothing was written."""
    with psycopg.connect(settings.database_url) as conn:
        return {
            table: str(conn.execute(f"SELECT array_agg(t::text ORDER BY t::text) FROM {table} t").fetchone())
            for table in TABLES
        }


def _bad_request(response: Any, path: str, *words: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://restosync.dev/problems/validation-failed", body
    assert body["errors"][0]["path"] == path, body
    for word in words:
        assert word in body["detail"], body
    return body


def _order(number: str = "A-1", **line: str) -> dict[str, Any]:
    return {
        "vendorId": "vendor-1",
        "orderNumber": number,
        "lines": [{"sku": "SKU-1", "quantity": "2", "unitPrice": "18.50", **line}],
    }


# ---------------------------------------------------------------- 1. callback jobId


def test_a_callback_whose_job_id_is_36_characters_but_not_a_uuid_is_a_400_naming_job_id(
    api: Client, quiet_settings: Settings
) -> None:
    headers = register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    for job_id in ("-" * 36, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "0123456789abcdef0123456789abcdef0123"):
        response = api.post(
            "/api/agents/callback", json={"jobId": job_id, "status": "failed"}, headers=headers
        )
        _bad_request(response, "$.jobId", "UUID")
    assert _snapshot(quiet_settings) == before


# ---------------------------------------------------------------- 2. pagination


LISTS = ("/api/admin/dlq", "/api/admin/sync-jobs", "/api/agents", "/api/admin/agents", "/api/admin/mappings",
         "/api/admin/reconciliation/events")


@pytest.mark.parametrize("path", LISTS)
def test_a_page_or_limit_out_of_range_on_any_list_is_a_400_naming_the_parameter_and_its_limit(
    api: Client, path: str
) -> None:
    headers = admin_headers(api)
    for page in (str(2**63), str(2**64 + 1), "9" * 40, str(MAX_PAGE + 1), "0", "-1"):
        body = _bad_request(api.get(path, params={"page": page}, headers=headers), "page")
        assert f"page must be between 1 and {MAX_PAGE}" in body["detail"] or "page" in body["detail"], body
    for limit in (str(2**63), str(MAX_LIMIT + 1), "0"):
        _bad_request(api.get(path, params={"limit": limit}, headers=headers), "limit")
    last = api.get(path, params={"page": MAX_PAGE, "limit": MAX_LIMIT}, headers=headers)
    assert last.status_code == 200, last.text
    assert last.json()["data"] == [] and last.json()["meta"]["page"] == MAX_PAGE


def test_the_page_limit_message_names_the_bound(api: Client) -> None:
    response = api.get("/api/admin/sync-jobs", params={"page": str(2**63)}, headers=admin_headers(api))
    _bad_request(response, "page", f"page must be between 1 and {MAX_PAGE}")
    response = api.get("/api/admin/dlq", params={"limit": "1000"}, headers=admin_headers(api))
    _bad_request(response, "limit", f"limit must be between 1 and {MAX_LIMIT}")


# ---------------------------------------------------------------- 3. NUL characters


NUL = "a\u0000b"


def test_nul_in_any_order_string_is_a_400_naming_its_path_and_nothing_is_written(
    api: Client, quiet_settings: Settings
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    cases = {
        "$.orderNumber": _order(NUL),
        "$.lines[0].sku": _order(sku=NUL),
    }
    for path, body in cases.items():
        _bad_request(api.post("/api/orders", json=body, headers=admin_headers(api)), path, "NUL")
    _bad_request(api.post("/api/orders", json={**_order(), "vendorId": NUL}, headers=admin_headers(api)),
                 "$.vendorId")  # its pattern refuses it first
    assert _snapshot(quiet_settings) == before


def test_nul_in_agent_version_url_or_settings_is_a_400_naming_its_path(
    api: Client, quiet_settings: Settings
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    secret = quiet_settings.agent_secret
    register = {"vendorId": "vendor-2", "agentUrl": "https://agent.example/a", "authToken": "t" * 40}
    bearer = {"Authorization": f"Bearer {secret}"}
    _bad_request(api.post("/api/agents/register", json={**register, "version": NUL}, headers=bearer), "$.version")
    _bad_request(
        api.post("/api/agents/register", json={**register, "agentUrl": "https://agent.example/" + NUL},
                 headers=bearer),
        "$.agentUrl",
    )
    update = "/api/admin/agents/vendor-1"
    cases = {
        "$.agentUrl": {"agentUrl": "https://agent.example/" + NUL},
        "$.settings.mode": {"settings": {"mode": NUL}},
        "$.settings.deep.list[1]": {"settings": {"deep": {"list": ["ok", NUL]}}},
        "$.settings.deep": {"settings": {"deep": {NUL: 1}}},
    }
    for path, body in cases.items():
        _bad_request(api.put(update, json=body, headers=admin_headers(api)), path, "NUL")
    assert _snapshot(quiet_settings) == before


def test_nul_in_a_mapping_is_a_400_naming_its_path_whether_created_replaced_or_seeded(
    api: Client, quiet_settings: Settings
) -> None:
    mapping = {"vendorId": "vendor-1", "mappingType": "unit", "erpCode": "KG", "restoCode": "kg", "restoLabel": "Kg"}
    created = api.post("/api/admin/mappings", json=mapping, headers=admin_headers(api))
    assert created.status_code == 201, created.text
    before = _snapshot(quiet_settings)
    for field in ("erpCode", "restoCode", "restoLabel"):
        bad = {**mapping, field: NUL}
        _bad_request(api.post("/api/admin/mappings", json=bad, headers=admin_headers(api)), f"$.{field}", "NUL")
        _bad_request(
            api.put(f"/api/admin/mappings/{created.json()['id']}", json=bad, headers=admin_headers(api)),
            f"$.{field}",
        )
        _bad_request(
            api.post("/api/admin/mappings/seed", json={"mappings": [mapping, bad]}, headers=admin_headers(api)),
            f"$.mappings[1].{field}",
        )
    assert _snapshot(quiet_settings) == before


def test_nul_in_a_callback_or_in_a_query_or_path_parameter_is_a_400(api: Client, quiet_settings: Settings) -> None:
    headers = register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    callback = {"jobId": "0b9e2a3c-1d4f-4a5b-8c6d-7e8f9a0b1c2d", "status": "failed", "error": NUL}
    _bad_request(api.post("/api/agents/callback", json=callback, headers=headers), "$.error", "NUL")
    _bad_request(api.get("/api/admin/sync-jobs?vendorId=a%00b", headers=admin_headers(api)), "vendorId", "NUL")
    _bad_request(api.get("/api/admin/agents/a%00b", headers=admin_headers(api)), "path", "NUL")
    assert _snapshot(quiet_settings) == before


# ---------------------------------------------------------------- 4. decimals that do not fit their column


@pytest.mark.parametrize(
    ("line", "path", "words"),
    [
        ({"unitPrice": "99999999999999.9999"}, "$.lines[0].unitPrice", ("at most 10 digits before the point",)),
        ({"unitPrice": "10000000000"}, "$.lines[0].unitPrice", ("at most 10 digits before the point",)),
        ({"unitPrice": "1.23456"}, "$.lines[0].unitPrice", ("4 after",)),
        ({"quantity": "999999999999999"}, "$.lines[0].quantity", ("at most 14 digits before the point",)),
        ({"quantity": "0.00001"}, "$.lines[0].quantity", ("4 after",)),
        ({"quantity": "9" * 39}, "$.lines[0].quantity", ("at most 14 digits",)),
    ],
)
def test_an_order_decimal_too_large_or_too_precise_for_its_column_is_a_400_naming_path_and_limit(
    api: Client, quiet_settings: Settings, line: dict[str, str], path: str, words: tuple[str, ...]
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    _bad_request(api.post("/api/orders", json=_order(**line), headers=admin_headers(api)), path, *words)
    assert _snapshot(quiet_settings) == before


def test_the_largest_decimals_the_columns_hold_are_accepted_and_read_back_exactly(api: Client) -> None:
    register_agent(api, "vendor-1")
    body = _order(quantity="99999999999999.9999", unitPrice="9999999999.99990")
    placed = api.post("/api/orders", json=body, headers=admin_headers(api))
    assert placed.status_code == 201, placed.text
    [line] = placed.json()["lines"]
    assert (line["quantity"], line["unitPrice"]) == ("99999999999999.9999", "9999999999.9999")


# ---------------------------------------------------------------- 5. settings depth and size


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _deep_body(levels: int) -> bytes:
    """``{"settings": {"a": {"a": ... 1}}}`` with ``levels`` objects inside ``settings``, itself included."""
    return b'{"settings":' + b'{"a":' * levels + b"1" + b"}" * levels + b"}"


@pytest.mark.parametrize("levels", [MAX_SETTINGS_DEPTH + 1, 200])
def test_settings_nested_too_deep_are_a_400_naming_the_depth_limit(
    api: Client, quiet_settings: Settings, levels: int
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    response = api.put("/api/admin/agents/vendor-1", content=_deep_body(levels),
                       headers={**admin_headers(api), "content-type": "application/json"})
    _bad_request(response, "$.settings", f"settings nest at most {MAX_SETTINGS_DEPTH} levels")
    assert _snapshot(quiet_settings) == before


@pytest.mark.parametrize("levels", [5000, 100_000])
def test_settings_nested_thousands_deep_are_a_400_naming_the_nesting_limit_not_a_500(
    api: Client, quiet_settings: Settings, levels: int
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    response = api.put("/api/admin/agents/vendor-1", content=_deep_body(levels),
                       headers={**admin_headers(api), "content-type": "application/json"})
    _bad_request(response, "$", f"nests deeper than {MAX_JSON_DEPTH} levels")
    assert _snapshot(quiet_settings) == before


def test_settings_over_the_size_limit_are_a_400_and_settings_at_the_limits_are_stored(
    api: Client, quiet_settings: Settings
) -> None:
    register_agent(api, "vendor-1")
    before = _snapshot(quiet_settings)
    too_big = {"blob": "x" * MAX_SETTINGS_BYTES}
    response = api.put("/api/admin/agents/vendor-1", json={"settings": too_big}, headers=admin_headers(api))
    _bad_request(response, "$.settings", f"settings take at most {MAX_SETTINGS_BYTES // 1024} KiB")
    assert _snapshot(quiet_settings) == before
    deepest = _nested(MAX_SETTINGS_DEPTH - 1)  # inside settings, which is level 1
    overhead = len(json.dumps({"blob": "", "deep": deepest}, separators=(",", ":")))
    fits = {"blob": "x" * (MAX_SETTINGS_BYTES - overhead), "deep": deepest}  # exactly at both limits
    stored = api.put("/api/admin/agents/vendor-1", json={"settings": fits}, headers=admin_headers(api))
    assert stored.status_code == 200, stored.text
    assert stored.json()["settings"] == fits
