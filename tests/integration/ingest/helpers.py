"""Building blocks for ingest integration tests: JSON rows, mappings inserted with SQL, table reads."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

T0 = "2026-01-01T08:00:00+00:00"


def at(minute: int) -> str:
    return f"2026-01-01T08:{minute:02d}:00+00:00"


def item_json(sku: str, *, minute: int = 0, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "sku": sku, "name": f"Item {sku}", "unitCode": "KG", "vatCode": "TVA20", "familyCode": "FRUIT",
        "price": "18.50", "updatedAt": at(minute),
    }
    row.update(changes)
    return row


def warehouse_json(code: str, *, minute: int = 0, **changes: Any) -> dict[str, Any]:
    return {"warehouseId": code, "name": f"Warehouse {code}", "updatedAt": at(minute), **changes}


def stock_json(sku: str, code: str, quantity: str = "5", *, minute: int = 0) -> dict[str, Any]:
    return {"sku": sku, "warehouseId": code, "quantity": quantity, "updatedAt": at(minute)}


def insert_mappings(url: str, vendor: str, rows: list[tuple[str, str, str]] | None = None) -> None:
    """(type, erp code, resto code) rows straight into erp_code_mappings; defaults cover item_json."""
    rows = rows or [("unit", "KG", "kilogram"), ("vat", "TVA20", "vat-20"), ("family", "FRUIT", "fruit")]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.cursor().executemany(
            "INSERT INTO erp_code_mappings (vendor_id, mapping_type, erp_code, resto_code) VALUES (%s, %s, %s, %s)",
            [(vendor, t, erp, resto) for t, erp, resto in rows],
        )


def rows_of(url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def items_of(url: str, vendor: str) -> dict[str, dict[str, Any]]:
    rows = rows_of(url, "SELECT * FROM items WHERE vendor_id = %s", vendor)
    return {row["sku"]: row for row in rows}


def results(response: Any) -> list[tuple[Any, ...]]:
    """(key..., status, reason) per result row, reason None when processed."""
    out = []
    for r in response.json()["results"]:
        key = tuple(r[k] for k in ("sku", "warehouseId") if k in r)
        out.append((*key, r["status"], r.get("reason")))
    return out
