"""PgAuditLog, the one writer of ``audit_log``, against the real PostgreSQL: bound to every unit of work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from restosync_adapters.postgres.audit import PgAuditLog
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_adapters.settings import Settings
from restosync_core.model.audit import AuditEntry, RequestContext

AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


class CountingConnection:
    """The transaction's connection, counting the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.statements = 0

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return await self._conn.execute(*args, **kwargs)


def _write(settings: Settings, *batches: list[AuditEntry]) -> list[int]:
    """Each batch through ``uow.audit_log.record_many`` in one unit of work; the statements each took."""

    async def scenario() -> list[int]:
        pool = make_pool(settings.database_url, max_size=1)
        await pool.open()
        try:
            counts = []
            async with PgUnitOfWork(pool) as uow:
                assert isinstance(uow.audit_log, PgAuditLog)
                for batch in batches:
                    counting = CountingConnection(uow.audit_log.conn)
                    uow.audit_log.conn = counting  # type: ignore[assignment]
                    await uow.audit_log.record_many(batch)
                    uow.audit_log.conn = counting._conn
                    counts.append(counting.statements)
            return counts
        finally:
            await pool.close()

    return asyncio.run(scenario())


def _rows(settings: Settings) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT action, entity_type, entity_id, request_id, client_address, details, created_at"
            " FROM audit_log ORDER BY created_at, entity_id"
        ).fetchall()


def test_record_many_writes_every_entry_in_one_statement_keeping_context_and_time(settings: Settings) -> None:
    entries = [
        AuditEntry("agent.updated", "agent", "v1", RequestContext("req-1", "10.0.0.1"), AT, {"changed": ["agentUrl"]}),
        AuditEntry("agent.status_changed", "agent", "v2", RequestContext(), AT + timedelta(seconds=1),
                   {"from": "offline", "to": "online"}),
        AuditEntry("dlq.resolve", "dead_letter", "0b7c", RequestContext(client_address="::1"),
                   AT + timedelta(seconds=2)),
    ]
    many = [
        AuditEntry("agent.status_changed", "agent", f"bulk-{i:03}", RequestContext(), AT + timedelta(minutes=1))
        for i in range(300)
    ]

    assert _write(settings, entries, many, []) == [1, 1, 0]

    rows = _rows(settings)
    assert len(rows) == 303
    assert rows[:3] == [
        {"action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id,
         "request_id": e.context.request_id, "client_address": e.context.client_address,
         "details": e.details, "created_at": e.created_at}
        for e in entries
    ]
    assert [r["entity_id"] for r in rows[3:]] == [e.entity_id for e in many]


def test_record_writes_one_entry_and_a_rolled_back_unit_of_work_writes_none(settings: Settings) -> None:
    entry = AuditEntry("dlq.retry", "dead_letter", "l-1", RequestContext("req-2", "192.0.2.1"), AT, {"retryCount": 1})

    async def scenario() -> None:
        pool = make_pool(settings.database_url, max_size=1)
        await pool.open()
        try:
            async with PgUnitOfWork(pool) as uow:
                await uow.audit_log.record(entry)
            try:
                async with PgUnitOfWork(pool) as uow:
                    await uow.audit_log.record_many([entry, entry])
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
        finally:
            await pool.close()

    asyncio.run(scenario())
    assert _rows(settings) == [
        {"action": "dlq.retry", "entity_type": "dead_letter", "entity_id": "l-1", "request_id": "req-2",
         "client_address": "192.0.2.1", "details": {"retryCount": 1}, "created_at": AT}
    ]
