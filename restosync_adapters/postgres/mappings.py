"""PostgreSQL adapters for ERP code mappings: the resolver's one-query lookup and the admin repository."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import fetch_all, fetch_one, field_names, model_row, render
from restosync_core.errors import Conflict
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, MappingResult, MappingType, NewMapping
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.mappings import CodeKey, MappingFilter, SeedOutcome

MAPPING_ROW = model_row(Mapping, mapping_type=MappingType)


# The type as text (not the enum): LIST's "ORDER BY mapping_type" means this output column, so
# lists are ordered by the type's name.
_MAPPING = sql.SQL(", ").join(
    sql.SQL("{0}::text AS {0}").format(sql.Identifier(n)) if n == "mapping_type" else sql.Identifier(n)
    for n in field_names(Mapping)
)


def _q(template: str) -> str:
    """``{mapping}``: the columns of a ``Mapping``."""
    return render(sql.SQL(template).format(mapping=_MAPPING))


# Joining against unnest() rather than "= ANY(...)" keeps the plan on the unique
# index even for a vendor the planner has no statistics for yet (docs/performance.md, "First-time vendors").
FIND_ACTIVE = """
SELECT m.mapping_type::text AS mapping_type, m.erp_code, m.resto_code, m.resto_label
FROM unnest(%(types)s::text[]::mapping_type[], %(codes)s::text[]) AS k(mapping_type, erp_code)
JOIN erp_code_mappings m
  ON m.vendor_id = %(vendor_id)s AND m.mapping_type = k.mapping_type AND m.erp_code = k.erp_code
WHERE m.is_active
"""

GET = _q("SELECT {mapping} FROM erp_code_mappings WHERE id = %s")
GET_FOR_UPDATE = GET + " FOR UPDATE"
GET_BY_KEY = _q("""
SELECT {mapping} FROM erp_code_mappings
WHERE vendor_id = %s AND mapping_type = %s::mapping_type AND erp_code = %s
""")

_LIST_WHERE = """
WHERE (%(vendor_id)s::text IS NULL OR vendor_id = %(vendor_id)s)
  AND (%(mapping_type)s::mapping_type IS NULL OR mapping_type = %(mapping_type)s::mapping_type)
  AND (%(is_active)s::boolean IS NULL OR is_active = %(is_active)s)
"""
COUNT = "SELECT count(*) FROM erp_code_mappings" + _LIST_WHERE
LIST = _q("""
SELECT {mapping} FROM erp_code_mappings""" + _LIST_WHERE + """
ORDER BY vendor_id, mapping_type, erp_code
LIMIT %(limit)s OFFSET %(offset)s
""")

CREATE = _q("""
INSERT INTO erp_code_mappings (vendor_id, mapping_type, erp_code, resto_code, resto_label, is_active)
VALUES (%s, %s::mapping_type, %s, %s, %s, %s)
ON CONFLICT (vendor_id, mapping_type, erp_code) DO NOTHING
RETURNING {mapping}
""")

REPLACE = _q("""
UPDATE erp_code_mappings
SET vendor_id = %s, mapping_type = %s::mapping_type, erp_code = %s,
    resto_code = %s, resto_label = %s, is_active = %s, updated_at = now()
WHERE id = %s
RETURNING {mapping}
""")

DELETE = _q("""
DELETE FROM erp_code_mappings WHERE id = %s
RETURNING {mapping}
""")

# One statement for the whole seed. A row whose values are already stored is
# not touched (the WHERE of DO UPDATE), so it is neither returned nor counted:
# unchanged = rows - created - updated. xmax = 0 marks a freshly inserted row.
UPSERT_MANY = """
WITH input AS (
    SELECT * FROM unnest(%b::text[], %b::text[]::mapping_type[], %b::text[], %b::text[], %b::text[], %b::boolean[])
        AS i(vendor_id, mapping_type, erp_code, resto_code, resto_label, is_active)
), written AS (
    INSERT INTO erp_code_mappings AS m (vendor_id, mapping_type, erp_code, resto_code, resto_label, is_active)
    SELECT vendor_id, mapping_type, erp_code, resto_code, resto_label, is_active FROM input
    ON CONFLICT (vendor_id, mapping_type, erp_code) DO UPDATE
        SET resto_code = EXCLUDED.resto_code, resto_label = EXCLUDED.resto_label,
            is_active = EXCLUDED.is_active, updated_at = now()
        WHERE (m.resto_code, m.resto_label, m.is_active)
              IS DISTINCT FROM (EXCLUDED.resto_code, EXCLUDED.resto_label, EXCLUDED.is_active)
    RETURNING (m.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS created,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
"""


def _values(new: NewMapping) -> tuple[object, ...]:
    return (new.vendor_id, new.mapping_type.value, new.erp_code, new.resto_code, new.resto_label, new.is_active)


class PgMappingLookup:
    """``MappingLookup`` on its own pooled connection: a single autocommit SELECT, no transaction."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def find_active(self, vendor_id: VendorId, keys: Sequence[CodeKey]) -> dict[CodeKey, MappingResult]:
        if not keys:
            return {}
        params = {
            "vendor_id": vendor_id,
            "types": [str(t) for t, _ in keys],
            "codes": [c for _, c in keys],
        }
        with map_db_errors():
            async with self._pool.connection() as conn:
                rows = await fetch_all(conn, tuple_row, FIND_ACTIVE, params)  # tuples: every ingest asks
        return {
            (MappingType(mapping_type), erp_code): MappingResult(resto_code, resto_label)
            for mapping_type, erp_code, resto_code, resto_label in rows
        }


class PgMappingRepository:
    """``uow.mappings``: runs on the unit of work's connection, inside its transaction."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def _one(self, query: str, params: Sequence[object]) -> Mapping | None:
        return await fetch_one(self._conn, MAPPING_ROW, query, params)

    async def get(self, mapping_id: MappingId, *, for_update: bool = False) -> Mapping | None:
        return await self._one(GET_FOR_UPDATE if for_update else GET, (mapping_id,))

    async def list(self, where: MappingFilter, page: PageRequest) -> Page[Mapping]:
        params: dict[str, object] = {
            "vendor_id": where.vendor_id,
            "mapping_type": where.mapping_type.value if where.mapping_type else None,
            "is_active": where.is_active,
            "limit": page.limit,
            "offset": page.offset,
        }
        counted = await fetch_one(self._conn, tuple_row, COUNT, params)
        total = int(counted[0]) if counted else 0
        mappings = await fetch_all(self._conn, MAPPING_ROW, LIST, params)
        return Page(items=mappings, page=page.page, limit=page.limit, total=total)

    async def create(self, new: NewMapping) -> Mapping:
        created = await self._one(CREATE, _values(new))
        if created is not None:
            return created
        existing = await self._one(GET_BY_KEY, (new.vendor_id, new.mapping_type.value, new.erp_code))
        raise _duplicate(new, existing)

    async def replace(self, mapping_id: MappingId, new: NewMapping) -> tuple[Mapping, Mapping] | None:
        before = await self._one(GET_FOR_UPDATE, (mapping_id,))
        if before is None:
            return None
        with map_db_errors(conflict=lambda: _duplicate(new, None)):
            after = await self._one(REPLACE, (*_values(new), mapping_id))
        assert after is not None  # the row is locked FOR UPDATE above
        return before, after

    async def delete(self, mapping_id: MappingId) -> Mapping | None:
        return await self._one(DELETE, (mapping_id,))

    async def upsert_many(self, rows: Sequence[NewMapping]) -> SeedOutcome:
        if not rows:
            return SeedOutcome(created=0, updated=0, unchanged=0)
        values = (
            [r.vendor_id for r in rows],
            [r.mapping_type.value for r in rows],
            [r.erp_code for r in rows],
            [r.resto_code for r in rows],
            [r.resto_label for r in rows],
            [r.is_active for r in rows],
        )
        result = await fetch_one(self._conn, tuple_row, UPSERT_MANY, values)
        assert result is not None  # an aggregate always answers one row
        created, updated = int(result[0]), int(result[1])
        return SeedOutcome(created=created, updated=updated, unchanged=len(rows) - created - updated)


def _duplicate(new: NewMapping, existing: Mapping | None) -> Conflict:
    detail: dict[str, object] = {
        "vendorId": new.vendor_id,
        "mappingType": new.mapping_type.value,
        "erpCode": new.erp_code,
    }
    if existing is not None:
        detail["existingId"] = str(existing.id)
        detail["existingIsActive"] = existing.is_active
    state = "" if existing is None or existing.is_active else " (inactive: update it to reactivate)"
    return Conflict(
        f"a mapping for vendor {new.vendor_id!r}, type {new.mapping_type.value!r} and ERP code "
        f"{new.erp_code!r} already exists{state}",
        detail=detail,
    )
