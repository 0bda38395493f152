"""Rows for the ingest benchmark, and the raw baseline statement they are compared with.

``RAW_UPSERT`` is what a plain psycopg script would run to put the same rows
in the same table: one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
UPDATE`` with binary array parameters (the fastest plain form, see docs/performance.md),
no guard, no ordering, no RETURNING, no reads. "The same rows" means the same
column values the pipeline stores, resolved codes and content hashes included;
the script is handed them ready-made (``raw_params``, outside its timing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from restosync_core.model.catalog import Item
from restosync_core.policies.content_hash import item_hash

RAW_UPSERT = """
INSERT INTO items (
    vendor_id, sku, name, description, erp_unit_code, unit_code, erp_vat_code, vat_code,
    erp_family_code, family_code, erp_subfamily_code, subfamily_code, price, barcode, active,
    content_hash, erp_updated_at, last_synced_at)
SELECT %b, r.*, now()
FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
            %b::text[], %b::text[], %b::text[], %b::text[], %b::numeric[], %b::text[], %b::bool[],
            %b::text[], %b::timestamptz[]) AS r
ON CONFLICT (vendor_id, sku) DO UPDATE SET
    name = EXCLUDED.name, description = EXCLUDED.description,
    erp_unit_code = EXCLUDED.erp_unit_code, unit_code = EXCLUDED.unit_code,
    erp_vat_code = EXCLUDED.erp_vat_code, vat_code = EXCLUDED.vat_code,
    erp_family_code = EXCLUDED.erp_family_code, family_code = EXCLUDED.family_code,
    erp_subfamily_code = EXCLUDED.erp_subfamily_code, subfamily_code = EXCLUDED.subfamily_code,
    price = EXCLUDED.price, barcode = EXCLUDED.barcode, active = EXCLUDED.active,
    content_hash = EXCLUDED.content_hash, erp_updated_at = EXCLUDED.erp_updated_at,
    last_synced_at = EXCLUDED.last_synced_at
"""
RawRow = tuple[str, str, str | None, str, str, str | None, str | None, str, str | None, bool, datetime]
"""(sku, name, description, unit, vat, family, subfamily, price text, barcode, active, updatedAt)."""

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UNIT, VAT, FAMILY = "KG", "TVA20", "FRUIT"
MAPPINGS = [("unit", UNIT, "kilogram"), ("vat", VAT, "vat-20"), ("family", FAMILY, "fruit")]
RESOLVED = {UNIT: "kilogram", VAT: "vat-20", FAMILY: "fruit", None: None}


def stored_columns(rows: Sequence[RawRow]) -> list[list[Any]]:
    """The column values the pipeline stores for ``rows``: resolved codes, ``Decimal`` prices, content hashes."""
    out: list[list[Any]] = [[] for _ in range(16)]
    for r in rows:
        item = Item(r[0], r[1], r[2], r[3], r[4], r[5], r[6], Decimal(r[7]), r[8], r[9], r[10])
        values = (r[0], r[1], r[2], r[3], RESOLVED[r[3]], r[4], RESOLVED[r[4]], r[5], RESOLVED[r[5]], r[6],
                  RESOLVED[r[6]], item.price, r[8], r[9], item_hash(item), r[10])
        for column, value in zip(out, values, strict=True):
            column.append(value)
    return out


def raw_params(vendor: str, rows: Sequence[RawRow]) -> list[Any]:
    """The parameters of ``RAW_UPSERT``: one array per stored column."""
    return [vendor, *stored_columns(rows)]


PLACEHOLDER_HASH = "0" * 64


def bare_params(vendor: str, rows: Sequence[RawRow]) -> list[Any]:
    """``RAW_UPSERT``'s parameters as the bare endpoint builds them: no hashing (a fixed 64-character
    placeholder, as wide as a real hash), codes looked up in a constant table."""
    out: list[list[Any]] = [[] for _ in range(16)]
    for r in rows:
        values = (r[0], r[1], r[2], r[3], RESOLVED.get(r[3]), r[4], RESOLVED.get(r[4]), r[5], RESOLVED.get(r[5]),
                  r[6], RESOLVED.get(r[6]), Decimal(r[7]), r[8], r[9], PLACEHOLDER_HASH, r[10])
        for column, value in zip(out, values, strict=True):
            column.append(value)
    return [vendor, *out]


def description(index: int, size: int) -> str:
    text = f"Item {index}: fresh produce from the vendor's ERP, graded and packed. "
    return (text * (size // len(text) + 1))[:size]


def item_rows(prefix: str, count: int, *, version: int = 0, changed_every: int = 1,
              description_size: int = 120, start: int = 0) -> list[RawRow]:
    """``count`` items ``<prefix>-00000``...; rows whose index is a multiple of ``changed_every`` carry
    ``version`` (price and updatedAt), the others version 0."""
    rows: list[RawRow] = []
    for i in range(start, start + count):
        v = version if i % changed_every == 0 else 0
        rows.append((
            f"{prefix}-{i:06d}", f"Item {i} of {prefix}", description(i, description_size), UNIT, VAT, FAMILY,
            None, f"{(i % 997) + v}.{(i * 7 + v) % 100:02d}", f"{3_000_000_000_000 + i}", True,
            T0 + timedelta(seconds=v),
        ))
    return rows


def push_body(rows: Sequence[RawRow]) -> bytes:
    """The JSON body of ``POST /api/sync/items(/batch)`` for ``rows``."""
    return msgspec.json.encode({"items": [
        {"sku": r[0], "name": r[1], "description": r[2], "unitCode": r[3], "vatCode": r[4], "familyCode": r[5],
         "subfamilyCode": r[6], "price": r[7], "barcode": r[8], "active": r[9], "updatedAt": r[10].isoformat()}
        for r in rows
    ]})
