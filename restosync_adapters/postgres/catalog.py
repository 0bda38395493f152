"""Items, warehouses and stock in PostgreSQL: set-based reads and guarded upserts (psycopg 3).

Every upsert is one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` per chunk,
composed once with ``psycopg.sql`` from its table's columns. A lone chunk (an
incremental push) travels as one JSON parameter (msgspec-encoded, unpacked by
``json_to_recordset``: least API CPU); the chunks of a large push as binary
arrays through ``unnest``, pipelined, so chunk n+1 is decided while chunk n is
written (cheapest for PostgreSQL). Why each choice: docs/performance.md, Ingest.

The ``DO UPDATE ... WHERE`` guard is the real defence against lost updates: it
runs on the locked row, so an older or identical row never overwrites what a
concurrent push just stored. Rows go in the order given (key order, from the
core), so two pushes lock shared rows in the same order. Lookups join against
``unnest(keys)``, not ``= ANY(...)``, to stay index lookups for a vendor the
planner has no statistics for yet.

Items and warehouses are one repository, ``PgKeyedRepository``, over a
``KeyedTable`` (rows keyed by one ERP code). Stock shares the upsert but not
the repository: its key (sku, warehouse code) must first be resolved to the
item and warehouse ids it is stored under, which its one ``targets`` query does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import fetch_all, render
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import StoredVersion
from restosync_core.policies.reconciliation import position
from restosync_core.ports.catalog import ItemWrite, StockKey, StockTarget, StockWrite, WarehouseWrite

W = TypeVar("W")
Row = tuple[Any, ...]
Columns = Sequence[tuple[str, str]]
"""(column, SQL type) of the rows an upsert writes: the table's own column names."""
_JSON = msgspec.json.Encoder(decimal_format="string")


@dataclass(frozen=True)
class Upsert:
    """One guarded upsert in both parameter forms, and the struct a row is a JSON object through."""

    arrays_sql: str
    json_sql: str
    json_row: type[msgspec.Struct]


def guarded_upsert(
    table: str,
    columns: Columns,
    *,
    conflict: Sequence[str],
    returning: Sequence[str],
    insert_only: Sequence[str] = (),
    revive: bool = False,
) -> Upsert:
    """Insert ``columns`` of ``table`` for a vendor, or update a stored row only if it is different and not newer.

    Parameters: the vendor id, ``last_synced_at``, then the rows (one JSON text,
    or one binary array per column). ``insert_only`` columns are written by an
    insert and left alone by an update (``key_position``: a function of the key);
    ``revive``: an update also clears ``deactivated_at`` (a row reconciliation
    deactivated comes back when the ERP pushes it again).
    """
    names = [name for name, _ in columns]
    r_names = sql.SQL(", ").join(sql.Identifier("r", n) for n in names)
    alias = sql.SQL("WITH ORDINALITY AS r({}, ord)").format(sql.SQL(", ").join(map(sql.Identifier, names)))
    arrays = sql.SQL("unnest({}) {}").format(
        sql.SQL(", ").join(sql.SQL("%b::{}[]").format(sql.SQL(sql_type)) for _, sql_type in columns), alias
    )
    record = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns)
    json = sql.SQL("ROWS FROM (json_to_recordset(%b::json) AS ({})) {}").format(record, alias)
    template = sql.SQL("""
INSERT INTO {table} AS cur (vendor_id, {names}, last_synced_at)
SELECT %b, {r_names}, %b
FROM {rows}
ORDER BY r.ord
ON CONFLICT (vendor_id, {conflict}) DO UPDATE SET
    {updates}, last_synced_at = EXCLUDED.last_synced_at{revive}
WHERE cur.content_hash <> EXCLUDED.content_hash AND cur.erp_updated_at <= EXCLUDED.erp_updated_at
RETURNING {returning}
""")
    parts = {
        "table": sql.Identifier(table),
        "names": sql.SQL(", ").join(map(sql.Identifier, names)),
        "r_names": r_names,
        "conflict": sql.SQL(", ").join(map(sql.Identifier, conflict)),
        "updates": sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n))
            for n in names
            if n not in conflict and n not in insert_only
        ),
        "revive": sql.SQL(", deactivated_at = NULL" if revive else ""),
        "returning": sql.SQL(", ").join(sql.Identifier("cur", n) for n in returning),
    }
    return Upsert(
        render(template.format(rows=arrays, **parts)),
        render(template.format(rows=json, **parts)),
        msgspec.defstruct("Row", [(name, Any) for name in names], gc=False),
    )


async def _write_chunks(
    conn: AsyncConnection[Any],
    upsert: Upsert,
    chunks: Iterable[Sequence[W]],
    head: Sequence[Any],
    as_tuples: Callable[[Sequence[W]], list[Row]],
) -> list[Row]:
    """Run the upsert once per chunk (``head`` parameters, then the rows); what all statements returned.

    A list of chunks runs statement after statement, rows as JSON. A lazy
    iterator runs in pipeline mode, rows as arrays: each statement is sent as
    soon as its chunk is ready and the next chunk is prepared while PostgreSQL
    executes it; the results are collected at the end.
    """
    returned: list[Row] = []
    with map_db_errors():
        if isinstance(chunks, Sequence):
            for rows in chunks:
                make = upsert.json_row
                json_rows = _JSON.encode([make(*values) for values in as_tuples(rows)]).decode()
                async with conn.cursor(row_factory=tuple_row) as cur:
                    await cur.execute(upsert.json_sql, (*head, json_rows))
                    returned.extend(await cur.fetchall())
            return returned
        cursors = []
        async with conn.pipeline() as pipeline:
            for rows in chunks:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(upsert.arrays_sql, (*head, *map(list, zip(*as_tuples(rows), strict=True))))
                cursors.append(cur)
            await pipeline.sync()
            for cur in cursors:
                returned.extend(await cur.fetchall())
                await cur.close()
    return returned


# ---------------------------------------------------------------- items and warehouses


@dataclass(frozen=True)
class KeyedTable(Generic[W]):
    """A catalogue table whose rows are keyed by one ERP code within a vendor."""

    versions_sql: str
    upsert: Upsert
    as_tuples: Callable[[Sequence[W]], list[Row]]
    """A chunk of writes as rows of the upsert's columns (one comprehension per chunk: this is the hot loop)."""

    @classmethod
    def of(
        cls,
        table: str,
        columns: Columns,
        as_tuples: Callable[[Sequence[W]], list[Row]],
        *,
        positioned: bool = False,
    ) -> KeyedTable[W]:
        """``columns``: the key column first; ``content_hash`` and ``erp_updated_at`` among them.
        ``positioned``: a reconciled table (items): ``key_position`` is among them (written on insert), and an
        update revives a deactivated row."""
        key = columns[0][0]
        versions = sql.SQL("""
SELECT t.{key}, t.content_hash, t.erp_updated_at
FROM unnest(%b::text[]) AS k(code)
JOIN {table} t ON t.vendor_id = %b AND t.{key} = k.code
""").format(key=sql.Identifier(key), table=sql.Identifier(table))
        upsert = guarded_upsert(
            table, columns, conflict=(key,), returning=(key,),
            insert_only=("key_position",) if positioned else (), revive=positioned,
        )
        return cls(render(versions), upsert, as_tuples)


def _item_tuples(rows: Sequence[ItemWrite]) -> list[Row]:
    return [
        (
            w.item.sku, w.item.name, w.item.description, w.item.unit_code, w.codes.unit_code,
            w.item.vat_code, w.codes.vat_code, w.item.family_code, w.codes.family_code,
            w.item.subfamily_code, w.codes.subfamily_code, w.item.price, w.item.barcode,
            w.item.active, w.content_hash, w.item.updated_at, position(w.item.sku),
        )
        for w in rows
    ]


ITEMS = KeyedTable.of("items", [
    ("sku", "text"), ("name", "text"), ("description", "text"), ("erp_unit_code", "text"),
    ("unit_code", "text"), ("erp_vat_code", "text"), ("vat_code", "text"), ("erp_family_code", "text"),
    ("family_code", "text"), ("erp_subfamily_code", "text"), ("subfamily_code", "text"),
    ("price", "numeric"), ("barcode", "text"), ("active", "bool"), ("content_hash", "text"),
    ("erp_updated_at", "timestamptz"), ("key_position", "bigint"),
], _item_tuples, positioned=True)


def _warehouse_tuples(rows: Sequence[WarehouseWrite]) -> list[Row]:
    return [
        (w.warehouse.warehouse_id, w.warehouse.name, w.warehouse.address, w.warehouse.active, w.content_hash,
         w.warehouse.updated_at)
        for w in rows
    ]


WAREHOUSES = KeyedTable.of("warehouses", [
    ("erp_warehouse_id", "text"), ("name", "text"), ("address", "text"), ("active", "bool"),
    ("content_hash", "text"), ("erp_updated_at", "timestamptz"),
], _warehouse_tuples)


class PgKeyedRepository(Generic[W]):
    """``uow.items`` (over ``ITEMS``) and ``uow.warehouses`` (over ``WAREHOUSES``)."""

    def __init__(self, conn: AsyncConnection[Any], table: KeyedTable[W]) -> None:
        self._conn = conn
        self._table = table

    async def stored_versions(self, vendor_id: VendorId, keys: Sequence[str], /) -> dict[str, StoredVersion]:
        if not keys:
            return {}
        with map_db_errors():  # tuples: up to a whole batch of keys, on every full push
            rows = await fetch_all(self._conn, tuple_row, self._table.versions_sql, (list(keys), vendor_id))
        return {key: StoredVersion(content_hash, updated_at) for key, content_hash, updated_at in rows}

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[W]], synced_at: datetime, /
    ) -> set[str]:
        table = self._table
        returned = await _write_chunks(self._conn, table.upsert, chunks, (vendor_id, synced_at), table.as_tuples)
        return {row[0] for row in returned}


# ---------------------------------------------------------------- stock

STOCK_TARGETS = """
SELECT k.sku, k.code, i.id, w.id, s.content_hash, s.erp_updated_at
FROM unnest(%b::text[], %b::text[]) AS k(sku, code)
LEFT JOIN items i ON i.vendor_id = %b AND i.sku = k.sku
LEFT JOIN warehouses w ON w.vendor_id = %b AND w.erp_warehouse_id = k.code
LEFT JOIN stock s ON s.vendor_id = %b AND s.warehouse_id = w.id AND s.item_id = i.id
"""

STOCK_COLUMNS: Columns = [
    ("item_id", "uuid"), ("warehouse_id", "uuid"), ("quantity", "numeric"), ("content_hash", "text"),
    ("erp_updated_at", "timestamptz"), ("key_position", "bigint"),
]

STOCK_UPSERT = guarded_upsert(
    "stock", STOCK_COLUMNS, conflict=("warehouse_id", "item_id"), returning=("item_id", "warehouse_id"),
    insert_only=("key_position",), revive=True,
)


class PgStockRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def targets(self, vendor_id: VendorId, keys: Sequence[StockKey]) -> dict[StockKey, StockTarget]:
        if not keys:
            return {}
        skus, codes = zip(*keys, strict=True)
        with map_db_errors():  # tuples: thousands of rows per batch
            rows = await fetch_all(
                self._conn, tuple_row, STOCK_TARGETS, (list(skus), list(codes), vendor_id, vendor_id, vendor_id)
            )
        return {
            (sku, code): StockTarget(
                item_id, warehouse_id, StoredVersion(content_hash, updated_at) if content_hash else None
            )
            for sku, code, item_id, warehouse_id, content_hash, updated_at in rows
        }

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[StockWrite]], synced_at: datetime
    ) -> set[StockKey]:
        key_of: dict[tuple[UUID, UUID], StockKey] = {}

        def as_tuples(rows: Sequence[StockWrite]) -> list[Row]:
            for w in rows:
                key_of[(w.item_id, w.warehouse_id)] = (w.level.sku, w.level.warehouse_id)
            return [
                (w.item_id, w.warehouse_id, w.level.quantity, w.content_hash, w.level.updated_at, position(w.level.sku))
                for w in rows
            ]

        returned = await _write_chunks(self._conn, STOCK_UPSERT, chunks, (vendor_id, synced_at), as_tuples)
        return {key_of[(item_id, warehouse_id)] for item_id, warehouse_id in returned}
