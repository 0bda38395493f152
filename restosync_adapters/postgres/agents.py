"""PgAgentRepository: the ``agent_registry`` table (one row per vendor) in raw SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.ids import AgentId, VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies.agent_health import StatusTransition
from restosync_core.ports.agents import Heartbeat, HeartbeatRecorded, NewRegistration

_COLUMNS = """id, vendor_id, agent_url, auth_token_hash, version, status, status_changed_at,
              last_heartbeat_at, settings, registered_at, updated_at"""
_A_COLUMNS = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))

_GET = f"SELECT {_COLUMNS} FROM agent_registry WHERE vendor_id = %s"
_GET_FOR_UPDATE = _GET + " FOR UPDATE"

_INSERT = f"""
INSERT INTO agent_registry (vendor_id, agent_url, auth_token_hash, version, status,
                            status_changed_at, last_heartbeat_at, registered_at, updated_at)
VALUES (%(vendor_id)s, %(agent_url)s, %(hash)s, %(version)s, 'online', %(at)s, %(at)s, %(at)s, %(at)s)
ON CONFLICT (vendor_id) DO NOTHING
RETURNING {_COLUMNS}
"""

# In SET, column references read the row as it was, so the CASE sees the old status.
# A re-registration that sends no version keeps the stored one.
_UPDATE_REGISTRATION = f"""
UPDATE agent_registry
SET agent_url = %(agent_url)s, auth_token_hash = %(hash)s, version = COALESCE(%(version)s, version),
    last_heartbeat_at = %(at)s, updated_at = %(at)s,
    status_changed_at = CASE WHEN status <> 'online' THEN %(at)s ELSE status_changed_at END,
    status = 'online'
WHERE vendor_id = %(vendor_id)s
RETURNING {_COLUMNS}
"""

# One statement for a whole batch of heartbeats (vendors unique within it); the locked
# sub-select yields each row's status before the update. A heartbeat never moves time back.
_HEARTBEATS = f"""
WITH beat AS (
    SELECT * FROM unnest(%(vendors)s::text[], %(at)s::timestamptz[], %(versions)s::text[])
             AS b(vendor_id, at, version)
), prev AS (
    SELECT a.id, a.status, beat.at, beat.version
    FROM agent_registry a JOIN beat ON beat.vendor_id = a.vendor_id
    FOR UPDATE OF a
)
UPDATE agent_registry a
SET last_heartbeat_at = GREATEST(prev.at, a.last_heartbeat_at),
    status_changed_at = CASE WHEN a.status <> 'online' THEN prev.at ELSE a.status_changed_at END,
    status = 'online',
    version = COALESCE(prev.version, a.version)
FROM prev
WHERE a.id = prev.id
RETURNING {_A_COLUMNS}, prev.status AS previous_status
"""

_UPDATE = f"""
UPDATE agent_registry
SET agent_url = COALESCE(%(agent_url)s, agent_url),
    settings = COALESCE(%(settings)s::jsonb, settings),
    updated_at = %(at)s
WHERE vendor_id = %(vendor_id)s
RETURNING {_COLUMNS}
"""

_DELETE = "DELETE FROM agent_registry WHERE vendor_id = %s RETURNING id"

_PAGE = f"SELECT {_COLUMNS} FROM agent_registry ORDER BY vendor_id LIMIT %s OFFSET %s"
_COUNT = "SELECT count(*) AS total FROM agent_registry"
_ALL = f"SELECT {_COLUMNS} FROM agent_registry ORDER BY vendor_id"

# Only where nothing moved since the transition was planned: same status, no newer heartbeat.
_APPLY_TRANSITIONS = """
UPDATE agent_registry a
SET status = t.to_status::agent_status, status_changed_at = t.at
FROM unnest(%(ids)s::uuid[], %(from)s::text[], %(to)s::text[],
            %(seen)s::timestamptz[], %(at)s::timestamptz[]) AS t(id, from_status, to_status, last_seen_at, at)
WHERE a.id = t.id
  AND a.status = t.from_status::agent_status
  AND COALESCE(a.last_heartbeat_at, a.registered_at) = t.last_seen_at
RETURNING a.id
"""


def _agent(row: dict[str, Any]) -> Agent:
    return Agent(
        id=AgentId(row["id"]),
        vendor_id=VendorId(row["vendor_id"]),
        agent_url=row["agent_url"],
        auth_token_hash=row["auth_token_hash"],
        version=row["version"],
        status=AgentStatus(row["status"]),
        last_heartbeat_at=row["last_heartbeat_at"],
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
        settings=dict(row["settings"] or {}),
        status_changed_at=row["status_changed_at"],
    )


def _registration(reg: NewRegistration) -> dict[str, Any]:
    return {
        "vendor_id": reg.vendor_id,
        "agent_url": reg.agent_url,
        "hash": reg.auth_token_hash,
        "version": reg.version,
        "at": reg.at,
    }


class PgAgentRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def _one(self, query: str, params: Any) -> dict[str, Any] | None:
        cur = await self._conn.execute(query, params)
        row: dict[str, Any] | None = await cur.fetchone()
        return row

    async def get(self, vendor_id: VendorId) -> Agent | None:
        row = await self._one(_GET, (vendor_id,))
        return _agent(row) if row else None

    async def get_for_update(self, vendor_id: VendorId) -> Agent | None:
        row = await self._one(_GET_FOR_UPDATE, (vendor_id,))
        return _agent(row) if row else None

    async def insert(self, registration: NewRegistration) -> Agent | None:
        row = await self._one(_INSERT, _registration(registration))
        return _agent(row) if row else None

    async def update_registration(self, registration: NewRegistration, *, token_replaced: bool) -> Agent:
        row = await self._one(_UPDATE_REGISTRATION, _registration(registration))
        assert row is not None, "update_registration needs the row locked by get_for_update"
        return _agent(row)

    async def record_heartbeats(self, heartbeats: Sequence[Heartbeat]) -> list[HeartbeatRecorded]:
        if not heartbeats:
            return []
        params = {
            "vendors": [h.vendor_id for h in heartbeats],
            "at": [h.at for h in heartbeats],
            "versions": [h.version for h in heartbeats],
        }
        cur = await self._conn.execute(_HEARTBEATS, params)
        return [HeartbeatRecorded(_agent(r), AgentStatus(r["previous_status"])) for r in await cur.fetchall()]

    async def update(
        self,
        vendor_id: VendorId,
        *,
        agent_url: str | None,
        settings: dict[str, object] | None,
        at: datetime,
    ) -> Agent | None:
        params = {
            "vendor_id": vendor_id,
            "agent_url": agent_url,
            "settings": Jsonb(settings) if settings is not None else None,
            "at": at,
        }
        row = await self._one(_UPDATE, params)
        return _agent(row) if row else None

    async def delete(self, vendor_id: VendorId) -> bool:
        return await self._one(_DELETE, (vendor_id,)) is not None

    async def page(self, request: PageRequest) -> Page[Agent]:
        cur = await self._conn.execute(_PAGE, (request.limit, request.offset))
        rows = await cur.fetchall()
        total_row = await self._one(_COUNT, ())
        total = int(total_row["total"]) if total_row else 0
        return Page([_agent(r) for r in rows], request.page, request.limit, total)

    async def all(self) -> list[Agent]:
        cur = await self._conn.execute(_ALL)
        return [_agent(r) for r in await cur.fetchall()]

    async def apply_transitions(self, planned: Sequence[StatusTransition]) -> list[StatusTransition]:
        if not planned:
            return []
        params = {
            "ids": [t.agent_id for t in planned],
            "from": [t.from_status.value for t in planned],
            "to": [t.to_status.value for t in planned],
            "seen": [t.last_seen_at for t in planned],
            "at": [t.at for t in planned],
        }
        cur = await self._conn.execute(_APPLY_TRANSITIONS, params)
        applied = {row["id"] for row in await cur.fetchall()}
        return [t for t in planned if t.agent_id in applied]
