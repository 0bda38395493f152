"""PgAuditLog: the one writer of the ``audit_log`` table, bound to a unit of work's connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from restosync_core.model.audit import AuditEntry

_COLUMNS = "action, entity_type, entity_id, request_id, client_address, details, created_at"

INSERT_AUDIT = f"""
INSERT INTO audit_log ({_COLUMNS})
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""

# Many entries in one statement: one typed array per column, zipped back into rows by unnest.
INSERT_AUDIT_MANY = f"""
INSERT INTO audit_log ({_COLUMNS})
SELECT {_COLUMNS}
FROM unnest(%(actions)s::text[], %(entity_types)s::text[], %(entity_ids)s::text[],
            %(request_ids)s::text[], %(client_addresses)s::text[], %(details)s::jsonb[],
            %(created_at)s::timestamptz[])
     AS e(action, entity_type, entity_id, request_id, client_address, details, created_at)
"""


class PgAuditLog:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.conn = conn

    async def record(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            INSERT_AUDIT,
            (
                entry.action, entry.entity_type, entry.entity_id, entry.context.request_id,
                entry.context.client_address, Jsonb(entry.details), entry.created_at,
            ),
        )

    async def record_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        params = {
            "actions": [e.action for e in entries],
            "entity_types": [e.entity_type for e in entries],
            "entity_ids": [e.entity_id for e in entries],
            "request_ids": [e.context.request_id for e in entries],
            "client_addresses": [e.context.client_address for e in entries],
            "details": [Jsonb(e.details) for e in entries],
            "created_at": [e.created_at for e in entries],
        }
        await self.conn.execute(INSERT_AUDIT_MANY, params)
