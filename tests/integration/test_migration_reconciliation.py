"""Migration 0003 (reconciliation) over a database that already holds catalogue rows.

The backfill computes each existing row's ``key_position`` in SQL; it must equal
the protocol's ``position()`` (Python) for every SKU, stock rows taking their
item's. Rows the previous release inserts afterwards (without the column, as
during a blue-green deploy or after a rollback) get it too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from restosync_adapters.postgres.migrate import MIGRATIONS_DIR, migrate
from restosync_core.policies.reconciliation import position

SKUS = ["SKU-1", "SKU-2", "CAFÉ-7", "SKU-1 ", "ÆØÅ-日本-🍎", "a" * 300, "x", "'; DROP TABLE items; --"]
OLD_ITEM = """
INSERT INTO items (vendor_id, sku, name, erp_unit_code, unit_code, erp_vat_code, vat_code, price, content_hash,
                   erp_updated_at)
VALUES (%s, %s, 'n', 'KG', 'kg', 'TVA', 'vat', 1, 'h', now()) RETURNING id
"""
OLD_WAREHOUSE = """
INSERT INTO warehouses (vendor_id, erp_warehouse_id, name, content_hash, erp_updated_at)
VALUES (%s, %s, 'w', 'h', now()) RETURNING id
"""
OLD_STOCK = """
INSERT INTO stock (vendor_id, item_id, warehouse_id, quantity, content_hash, erp_updated_at)
VALUES (%s, %s, %s, 1, 'h', now())
"""


def _insert_old_rows(conn: psycopg.Connection[Any], vendor: str, skus: list[str]) -> None:
    """Items, a warehouse and one stock row per item, as the release before 0003 writes them."""
    row = conn.execute(OLD_WAREHOUSE, (vendor, f"WH-{vendor}")).fetchone()
    assert row is not None
    for sku in skus:
        item = conn.execute(OLD_ITEM, (vendor, sku)).fetchone()
        assert item is not None
        conn.execute(OLD_STOCK, (vendor, item[0], row[0]))


def _positions(conn: psycopg.Connection[Any]) -> tuple[dict[str, int], dict[str, int]]:
    items: dict[str, int] = dict(conn.execute("SELECT sku, key_position FROM items").fetchall())
    stock: dict[str, int] = dict(conn.execute(
        "SELECT i.sku, s.key_position FROM stock s JOIN items i ON i.id = s.item_id").fetchall())
    return items, stock


def test_the_backfill_gives_existing_rows_the_protocols_positions(empty_db: str, tmp_path: Path) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0003":
            shutil.copy(path, before / path.name)
    migrate(empty_db, before)
    generated = [f"SKU-{n:05d}" for n in range(2000)]
    with psycopg.connect(empty_db, autocommit=True) as conn:
        _insert_old_rows(conn, "v1", SKUS)
        _insert_old_rows(conn, "v2", generated)

    assert "0003_reconciliation.sql" in migrate(empty_db)

    with psycopg.connect(empty_db, autocommit=True) as conn:
        items, stock = _positions(conn)
        assert items == {sku: position(sku) for sku in SKUS + generated}
        assert stock == items
        nullable = conn.execute(
            "SELECT table_name, is_nullable FROM information_schema.columns "
            "WHERE column_name = 'key_position' ORDER BY 1").fetchall()
        assert nullable == [("items", "NO"), ("stock", "NO")]
        assert conn.execute("SELECT count(*) FROM items WHERE deactivated_at IS NOT NULL").fetchone() == (0,)


def test_rows_the_previous_release_inserts_after_the_migration_get_their_position(empty_db: str) -> None:
    migrate(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        _insert_old_rows(conn, "v1", SKUS)  # no key_position: the insert of the release before 0003
        items, stock = _positions(conn)
    assert items == {sku: position(sku) for sku in SKUS}
    assert stock == items
