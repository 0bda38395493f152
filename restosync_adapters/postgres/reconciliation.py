"""Reconciliation in PostgreSQL: our side of the range checksums, and the runs with their events.

``PgCatalogDigests`` answers, each in one statement on a pooled connection, what
the agent answers for the ERP (docs/agent-protocol.md#reconciliation): the
digests of a range's children (the vendor's live rows found by the index
``(vendor_id, key_position) WHERE deactivated_at IS NULL``, grouped by child),
the rows of a small range as the ERP described them, and
the deactivation of rows the ERP no longer has (never a delete).

``PgReconciliationRuns`` keeps ``reconciliation_runs`` (a partial unique index
allows one queued or running run per vendor) and writes a run's outcome and its
``reconciliation_events`` in one transaction. A running run whose advisory lock
(``run_lock_key``) is free has lost its process: the next request fails it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.errors import map_db_errors
from restosync_adapters.postgres.rows import columns, fetch_all, fetch_one, fetch_page, model_and, model_row, render
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.model.reconciliation import (
    EntitySummary,
    ReconciledEntity,
    ReconciliationEvent,
    ReconciliationEventType,
    ReconciliationRun,
    RepairOutcome,
    RowRepair,
    RunId,
    RunScope,
    RunStatus,
    RunSummary,
    RunTrigger,
)
from restosync_core.policies.reconciliation import EMPTY, PositionRange, RangeDigest, check_parts
from restosync_core.ports.reconciliation import (
    EventFilter,
    ReconciliationMetrics,
    Row,
    RowKey,
    RunRequest,
    WindowFigures,
)
from restosync_core.use_cases.reconcile_vendor import run_lock_key

DEACTIVATED = "deactivated"
"""The content hash of a deactivated row: no real hash (64 hex digits) equals it, so a re-push is written."""

DEAD_RUN_REASON = "its worker stopped before it finished"

# ---------------------------------------------------------------- digests

_TABLES = {ReconciledEntity.ITEMS: "items", ReconciledEntity.STOCK: "stock"}


def _checksums_sql(table: str) -> str:
    # (p - start) * parts < 2^32 * 256: bigint arithmetic, floor division as the protocol's child index.
    # Grouped outside a subquery the planner may not flatten (OFFSET 0), the parts are estimated at a
    # few hundred, not one per row: it hashes into them instead of sorting every row (which spilled to
    # disk). Measured in docs/decisions/0008-reconciliation-digests.md.
    return render(sql.SQL("""
SELECT part, count(*) AS n, bit_xor(('x' || content_hash)::bit(256)) AS checksum
FROM (
    SELECT (key_position - %(start)s::bigint) * %(parts)s::bigint / %(width)s::bigint AS part, content_hash
    FROM {table}
    WHERE vendor_id = %(vendor)s AND deactivated_at IS NULL
      AND key_position >= %(start)s::bigint AND key_position < %(end)s::bigint
    OFFSET 0
) AS live
GROUP BY part
""").format(table=sql.Identifier(table)))


CHECKSUMS = {entity: _checksums_sql(table) for entity, table in _TABLES.items()}

ITEM_ROWS = """
SELECT sku, name, description, erp_unit_code, erp_vat_code, erp_family_code, erp_subfamily_code, price,
       barcode, active, erp_updated_at, content_hash
FROM items
WHERE vendor_id = %(vendor)s AND deactivated_at IS NULL
  AND key_position >= %(start)s::bigint AND key_position < %(end)s::bigint
"""
STOCK_ROWS = """
SELECT i.sku, w.erp_warehouse_id, s.quantity, s.erp_updated_at, s.content_hash
FROM stock s
JOIN items i ON i.id = s.item_id
JOIN warehouses w ON w.id = s.warehouse_id
WHERE s.vendor_id = %(vendor)s AND s.deactivated_at IS NULL
  AND s.key_position >= %(start)s::bigint AND s.key_position < %(end)s::bigint
"""

DEACTIVATE_ITEMS = """
UPDATE items t SET deactivated_at = %(at)s, content_hash = 'deactivated', active = false
FROM unnest(%(skus)s::text[]) AS k(sku)
WHERE t.vendor_id = %(vendor)s AND t.sku = k.sku
  AND t.last_synced_at < %(since)s AND t.deactivated_at IS NULL
RETURNING t.sku
"""
DEACTIVATE_STOCK = """
UPDATE stock s SET deactivated_at = %(at)s, content_hash = 'deactivated'
FROM unnest(%(skus)s::text[], %(codes)s::text[]) AS k(sku, code)
JOIN items i ON i.vendor_id = %(vendor)s AND i.sku = k.sku
JOIN warehouses w ON w.vendor_id = %(vendor)s AND w.erp_warehouse_id = k.code
WHERE s.vendor_id = %(vendor)s AND s.item_id = i.id AND s.warehouse_id = w.id
  AND s.last_synced_at < %(since)s AND s.deactivated_at IS NULL
RETURNING k.sku, k.code
"""


class PgCatalogDigests:
    """``CatalogDigests`` over the vendor's live (not deactivated) items and stock rows."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def checksums(
        self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange, parts: int
    ) -> list[RangeDigest]:
        check_parts(rng, parts)
        params = {"vendor": vendor_id, "start": rng.start, "end": rng.end, "parts": parts, "width": rng.width}
        with map_db_errors():
            async with self.pool.connection() as conn:
                found = await fetch_all(conn, tuple_row, CHECKSUMS[entity], params)
        digests = [EMPTY] * parts
        for part, count, bits in found:
            digests[part] = RangeDigest(count, f"{int(bits, 2):064x}")
        return digests

    async def rows(
        self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange
    ) -> list[tuple[Row, str]]:
        params = {"vendor": vendor_id, "start": rng.start, "end": rng.end}
        with map_db_errors():
            async with self.pool.connection() as conn:
                if entity is ReconciledEntity.ITEMS:
                    found = await fetch_all(conn, tuple_row, ITEM_ROWS, params)
                    return [(Item(*values[:-1]), values[-1]) for values in found]
                found = await fetch_all(conn, tuple_row, STOCK_ROWS, params)
                return [(StockLevel(*values[:-1]), values[-1]) for values in found]

    async def deactivate(
        self,
        vendor_id: VendorId,
        entity: ReconciledEntity,
        keys: Sequence[RowKey],
        *,
        untouched_since: datetime,
        at: datetime,
    ) -> set[RowKey]:
        if not keys:
            return set()
        params: dict[str, Any] = {"vendor": vendor_id, "since": untouched_since, "at": at}
        if entity is ReconciledEntity.ITEMS:
            query, params["skus"] = DEACTIVATE_ITEMS, [key[0] for key in keys]
        else:
            query, params["skus"], params["codes"] = DEACTIVATE_STOCK, [k[0] for k in keys], [k[1] for k in keys]
        with map_db_errors():
            async with self.pool.connection() as conn:
                done = await fetch_all(conn, tuple_row, query, params)
        return {tuple(row) for row in done}


# ---------------------------------------------------------------- runs

_ENTITY_FIELDS = {
    "database_rows": "databaseRows", "erp_rows": "erpRows", "ranges_visited": "rangesVisited",
    "agent_calls": "agentCalls", "rows_compared": "rowsCompared", "drift_found": "driftFound",
    "repaired": "repaired", "left_to_newer_push": "leftToNewerPush", "failed": "failed",
    "inserted": "inserted", "updated": "updated", "deactivated": "deactivated",
}
assert set(_ENTITY_FIELDS) == {f.name for f in fields(EntitySummary)} - {"entity"}


def summary_of(stored: Mapping[str, Any]) -> RunSummary:
    """A run's ``summary`` column (``RunSummary.as_dict()``) back as the core's ``RunSummary``."""
    entities = tuple(
        EntitySummary(
            ReconciledEntity(e["entity"]), **{name: int(e.get(wire, 0)) for name, wire in _ENTITY_FIELDS.items()}
        )
        for e in stored.get("entities", ())
    )
    return RunSummary(
        entities=entities,
        duration_ms=int(stored.get("durationMs", 0)),
        reason=stored.get("reason"),
        samples=tuple(stored.get("samples", ())),
    )


RUN_ROW = model_row(ReconciliationRun, scope=RunScope, trigger=RunTrigger, status=RunStatus, summary=summary_of)
EVENT_AND_TOTAL_ROW = model_and(ReconciliationEvent, "total", event_type=ReconciliationEventType)
_RUN = columns(ReconciliationRun)
_EVENT = columns(ReconciliationEvent)


def _q(template: str) -> str:
    return render(sql.SQL(template).format(run=_RUN))


ACTIVE_RUN_FOR_UPDATE = _q("""
SELECT {run} FROM reconciliation_runs
WHERE vendor_id = %s AND status IN ('queued', 'running')
FOR UPDATE
""")
TRY_RUN_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"
FAIL_DEAD_RUN = """
UPDATE reconciliation_runs
SET status = 'failed', finished_at = %(at)s, reason = %(reason)s,
    summary = summary || jsonb_build_object('reason', %(reason)s::text)
WHERE id = %(id)s
"""
INSERT_RUN = _q("""
INSERT INTO reconciliation_runs
    (id, vendor_id, scope, trigger, status, confirmed, correlation_id, requested_at, started_at, finished_at,
     summary)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
RETURNING {run}
""")
ACTIVE_RUN = _q("SELECT {run} FROM reconciliation_runs WHERE vendor_id = %s AND status IN ('queued', 'running')")
CLAIM_RUN = _q("""
UPDATE reconciliation_runs SET status = 'running', started_at = %s
WHERE id = %s AND status = 'queued'
RETURNING {run}
""")
FINISH_RUN = _q("""
UPDATE reconciliation_runs
SET status = %(status)s, finished_at = %(at)s, duration_ms = %(duration_ms)s, drift_found = %(drift_found)s,
    repaired = %(repaired)s, agent_calls = %(agent_calls)s, ranges_visited = %(ranges_visited)s,
    rows_compared = %(rows_compared)s, reason = %(reason)s, summary = %(summary)s
WHERE id = %(id)s
RETURNING {run}
""")
INSERT_EVENTS = """
INSERT INTO reconciliation_events (vendor_id, event_type, entity, summary, duration_ms, created_at, run_id)
SELECT %(vendor)s, e.event_type::reconciliation_event_type, e.entity, e.summary, e.duration_ms, %(at)s, %(run)s
FROM jsonb_to_recordset(%(events)s) AS e(event_type text, entity text, summary jsonb, duration_ms integer)
"""
GET_RUN = _q("SELECT {run} FROM reconciliation_runs WHERE id = %s")
ALL_ACTIVE = _q("SELECT {run} FROM reconciliation_runs WHERE status IN ('queued', 'running') ORDER BY requested_at")

EVENT_COUNT = "SELECT count(*) FROM reconciliation_events WHERE vendor_id = %s"
# One row per status over the last 7 days, with each figure for both windows.
WINDOWS = """
SELECT status,
       count(*) FILTER (WHERE finished_at >= %(day)s),
       count(*) FILTER (WHERE finished_at >= %(day)s AND drift_found > 0),
       coalesce(sum(drift_found) FILTER (WHERE finished_at >= %(day)s), 0),
       coalesce(sum(repaired) FILTER (WHERE finished_at >= %(day)s), 0),
       count(*),
       count(*) FILTER (WHERE drift_found > 0),
       coalesce(sum(drift_found), 0),
       coalesce(sum(repaired), 0)
FROM reconciliation_runs
WHERE vendor_id = %(vendor)s AND finished_at >= %(week)s
GROUP BY status
"""
RECENT_RUNS = _q("""
SELECT {run} FROM reconciliation_runs
WHERE vendor_id = %s AND finished_at IS NOT NULL
ORDER BY finished_at DESC, requested_at DESC
LIMIT %s
""")

COMPARED = (RunStatus.COMPLETED.value, RunStatus.STOPPED.value)


def _run_event_type(status: RunStatus, summary: RunSummary) -> ReconciliationEventType:
    if status in (RunStatus.SKIPPED, RunStatus.FAILED):
        return ReconciliationEventType.ERROR
    return ReconciliationEventType.DRIFT_DETECTED if summary.drift_found else ReconciliationEventType.DRIFT_CHECK


def _events_query(where: EventFilter) -> tuple[str, str, dict[str, Any]]:
    """The page and count statements for the filters given (only those: each filter is then an index condition,
    which ``(%s IS NULL OR ...)`` would stop a generic plan from being)."""
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    for column, op, value in (
        ("vendor_id", "=", where.vendor_id),
        ("entity", "=", where.entity.value if where.entity is not None else None),
        ("run_id", "=", where.run_id),
        ("event_type", "=", where.event_type.value if where.event_type is not None else None),
        ("created_at", ">=", where.since),
        ("created_at", "<", where.until),
    ):
        if value is None:
            continue
        name = f"p{len(params)}"
        cast = "::reconciliation_event_type" if column == "event_type" else ""
        conditions.append(sql.SQL("{} {} {}" + cast).format(sql.Identifier(column), sql.SQL(op), sql.Placeholder(name)))
        params[name] = value
    where_sql = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    page = sql.SQL("""
SELECT {event}, count(*) OVER () AS total FROM reconciliation_events{where}
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s
""").format(event=_EVENT, where=where_sql)
    count = sql.SQL("SELECT count(*) FROM reconciliation_events{where}").format(where=where_sql)
    return render(page), render(count), params


class PgReconciliationRuns:
    """``ReconciliationRuns`` over ``reconciliation_runs`` and ``reconciliation_events``."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def request(self, run: ReconciliationRun) -> RunRequest:
        with map_db_errors():
            async with self.pool.connection() as conn, conn.transaction():
                # FOR UPDATE: a second request waits here, then sees the first one's outcome.
                active = await fetch_one(conn, RUN_ROW, ACTIVE_RUN_FOR_UPDATE, (run.vendor_id,))
                if active is not None:
                    if active.status is not RunStatus.RUNNING or not await self._lock_free(conn, run.vendor_id):
                        return RunRequest(active, created=False)
                    dead = {"at": run.requested_at, "reason": DEAD_RUN_REASON, "id": active.id}
                    await conn.execute(FAIL_DEAD_RUN, dead)
                try:
                    async with conn.transaction():  # a savepoint: the unique violation leaves the rest intact
                        stored = await fetch_one(conn, RUN_ROW, INSERT_RUN, (
                            run.id, run.vendor_id, run.scope.value, run.trigger.value, run.status.value,
                            run.confirmed, run.correlation_id, run.requested_at, run.started_at, run.finished_at,
                            Jsonb(run.summary.as_dict()),
                        ))
                except psycopg.errors.UniqueViolation:
                    # Another request inserted the vendor's active run first (and committed): answer it.
                    winner = await fetch_one(conn, RUN_ROW, ACTIVE_RUN, (run.vendor_id,))
                    if winner is None:  # it finished in between: extremely unlikely, and harmless to retry
                        raise
                    return RunRequest(winner, created=False)
        assert stored is not None
        return RunRequest(stored, created=True)

    @staticmethod
    async def _lock_free(conn: AsyncConnection[Any], vendor_id: VendorId) -> bool:
        """Whether no process holds the vendor's run lock (taken for this transaction only, if so)."""
        row = await fetch_one(conn, tuple_row, TRY_RUN_LOCK, (run_lock_key(vendor_id),))
        return bool(row and row[0])

    async def claim(self, run_id: RunId, at: datetime) -> ReconciliationRun | None:
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await fetch_one(conn, RUN_ROW, CLAIM_RUN, (at, run_id))

    async def finish(
        self,
        run: ReconciliationRun,
        status: RunStatus,
        summary: RunSummary,
        repairs: Sequence[RowRepair],
        at: datetime,
    ) -> ReconciliationRun:
        figures = {
            "id": run.id, "status": status.value, "at": at, "duration_ms": summary.duration_ms,
            "drift_found": summary.drift_found, "repaired": summary.repaired, "agent_calls": summary.agent_calls,
            "ranges_visited": summary.ranges_visited, "rows_compared": summary.rows_compared,
            "reason": summary.reason, "summary": Jsonb(summary.as_dict()),
        }
        events: list[dict[str, object]] = [{
            "event_type": _run_event_type(status, summary).value, "entity": run.scope.value,
            "summary": summary.as_dict(), "duration_ms": summary.duration_ms,
        }]
        events.extend(
            {"event_type": ReconciliationEventType.CONFLICT_RESOLVED.value, "entity": r.entity.value,
             "summary": r.as_dict(), "duration_ms": 0}
            for r in repairs
            if r.outcome is RepairOutcome.REPAIRED
        )
        with map_db_errors():
            async with self.pool.connection() as conn, conn.transaction():
                done = await fetch_one(conn, RUN_ROW, FINISH_RUN, figures)
                if done is None:
                    raise LookupError(f"no reconciliation run {run.id}")
                await conn.execute(
                    INSERT_EVENTS, {"vendor": run.vendor_id, "at": at, "run": run.id, "events": Jsonb(events)}
                )
        return done

    async def get(self, run_id: RunId) -> ReconciliationRun | None:
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await fetch_one(conn, RUN_ROW, GET_RUN, (run_id,))

    async def active(self) -> list[ReconciliationRun]:
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await fetch_all(conn, RUN_ROW, ALL_ACTIVE)

    async def events(self, where: EventFilter, page: PageRequest) -> Page[ReconciliationEvent]:
        page_sql, count_sql, params = _events_query(where)
        params.update(limit=page.limit, offset=page.offset)
        with map_db_errors():
            async with self.pool.connection() as conn:
                return await fetch_page(conn, EVENT_AND_TOTAL_ROW, page_sql, count_sql, params, page)

    async def metrics(self, vendor_id: VendorId, now: datetime, *, recent: int = 20) -> ReconciliationMetrics:
        window_params = {"vendor": vendor_id, "day": now - timedelta(hours=24), "week": now - timedelta(days=7)}
        with map_db_errors():
            async with self.pool.connection() as conn:
                counted = await fetch_one(conn, tuple_row, EVENT_COUNT, (vendor_id,))
                by_status = await fetch_all(conn, tuple_row, WINDOWS, window_params)
                runs = await fetch_all(conn, RUN_ROW, RECENT_RUNS, (vendor_id, max(recent, 1)))
        return ReconciliationMetrics(
            vendor_id=vendor_id,
            event_count=counted[0] if counted else 0,
            last_run=runs[0] if runs else None,
            last_24h=_window([(s, *r[0:4]) for s, *r in by_status]),
            last_7d=_window([(s, *r[4:8]) for s, *r in by_status]),
            recent_runs=runs[:recent],
        )


def _window(rows: Sequence[tuple[Any, ...]]) -> WindowFigures:
    """One window's figures from (status, runs, runs with drift, drift found, repaired) per status."""
    present = [(status, *figures) for status, *figures in rows if figures[0]]
    return WindowFigures(
        runs=sum(r[1] for r in present),
        compared=sum(r[1] for r in present if r[0] in COMPARED),
        with_drift=sum(r[2] for r in present if r[0] in COMPARED),
        by_status={r[0]: r[1] for r in present},
        drift_found=sum(int(r[3]) for r in present),
        repaired=sum(int(r[4]) for r in present),
    )
