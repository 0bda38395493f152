"""PgAgentRepository: the ``agent_registry`` table (one row per vendor) in raw SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from restosync_adapters.postgres.rows import columns, fetch_all, fetch_one, model_and, model_row, render
from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies.agent_health import StatusTransition
from restosync_core.ports.agents import Heartbeat, HeartbeatRecorded, NewRegistration


def _settings(stored: dict[str, object] | None) -> dict[str, object]:
    return dict(stored or {})


AGENT_ROW = model_row(Agent, status=AgentStatus, settings=_settings)
AGENT_AND_PREVIOUS_ROW = model_and(Agent, "previous_status", status=AgentStatus, settings=_settings)


def _q(template: str) -> str:
    """``{agent}``: the agent's columns; ``{a_agent}``: the same, of the table aliased ``a``."""
    return render(sql.SQL(template).format(agent=columns(Agent), a_agent=columns(Agent, table="a")))


_GET = _q("SELECT {agent} FROM agent_registry WHERE vendor_id = %s")
_GET_FOR_UPDATE = _GET + " FOR UPDATE"

_INSERT = _q("""
INSERT INTO agent_registry (vendor_id, agent_url, auth_token_hash, version, status,
                            status_changed_at, last_heartbeat_at, registered_at, updated_at,
                            outbound_token, signing_secret)
VALUES (%(vendor_id)s, %(agent_url)s, %(hash)s, %(version)s, 'online', %(at)s, %(at)s, %(at)s, %(at)s,
        %(outbound_token)s, %(signing_secret)s)
ON CONFLICT (vendor_id) DO NOTHING
RETURNING {agent}
""")

# In SET, column references read the row as it was, so the CASE sees the old status.
# A re-registration that sends no version keeps the stored one; one that keeps the token, the outbound credential.
_UPDATE_REGISTRATION = _q("""
UPDATE agent_registry
SET agent_url = %(agent_url)s, auth_token_hash = %(hash)s, version = COALESCE(%(version)s, version),
    outbound_token = COALESCE(%(outbound_token)s, outbound_token),
    signing_secret = COALESCE(%(signing_secret)s, signing_secret),
    last_heartbeat_at = %(at)s, updated_at = %(at)s,
    status_changed_at = CASE WHEN status <> 'online' THEN %(at)s ELSE status_changed_at END,
    status = 'online'
WHERE vendor_id = %(vendor_id)s
RETURNING {agent}
""")

# One statement for a whole batch of heartbeats (vendors unique within it); the locked
# sub-select yields each row's status before the update. A heartbeat never moves time back.
_HEARTBEATS = _q("""
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
RETURNING {a_agent}, prev.status AS previous_status
""")

_UPDATE = _q("""
UPDATE agent_registry
SET agent_url = COALESCE(%(agent_url)s, agent_url),
    settings = COALESCE(%(settings)s::jsonb, settings),
    updated_at = %(at)s
WHERE vendor_id = %(vendor_id)s
RETURNING {agent}
""")

_DELETE = "DELETE FROM agent_registry WHERE vendor_id = %s RETURNING id"

_PAGE = _q("SELECT {agent} FROM agent_registry ORDER BY vendor_id LIMIT %s OFFSET %s")
_COUNT = "SELECT count(*) FROM agent_registry"
_ALL = _q("SELECT {agent} FROM agent_registry ORDER BY vendor_id")

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


def _registration(reg: NewRegistration) -> dict[str, Any]:
    return {
        "vendor_id": reg.vendor_id,
        "agent_url": reg.agent_url,
        "hash": reg.auth_token_hash,
        "version": reg.version,
        "at": reg.at,
        "outbound_token": reg.outbound.token if reg.outbound else None,
        "signing_secret": reg.outbound.signing_secret if reg.outbound else None,
    }


class PgAgentRepository:
    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def _agent(self, query: str, params: Any) -> Agent | None:
        return await fetch_one(self._conn, AGENT_ROW, query, params)

    async def get(self, vendor_id: VendorId) -> Agent | None:
        return await self._agent(_GET, (vendor_id,))

    async def get_for_update(self, vendor_id: VendorId) -> Agent | None:
        return await self._agent(_GET_FOR_UPDATE, (vendor_id,))

    async def insert(self, registration: NewRegistration) -> Agent | None:
        return await self._agent(_INSERT, _registration(registration))

    async def update_registration(self, registration: NewRegistration, *, token_replaced: bool) -> Agent:
        agent = await self._agent(_UPDATE_REGISTRATION, _registration(registration))
        assert agent is not None, "update_registration needs the row locked by get_for_update"
        return agent

    async def record_heartbeats(self, heartbeats: Sequence[Heartbeat]) -> list[HeartbeatRecorded]:
        if not heartbeats:
            return []
        params = {
            "vendors": [h.vendor_id for h in heartbeats],
            "at": [h.at for h in heartbeats],
            "versions": [h.version for h in heartbeats],
        }
        rows = await fetch_all(self._conn, AGENT_AND_PREVIOUS_ROW, _HEARTBEATS, params)
        return [HeartbeatRecorded(agent, AgentStatus(previous)) for agent, previous in rows]

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
        return await self._agent(_UPDATE, params)

    async def delete(self, vendor_id: VendorId) -> bool:
        return await fetch_one(self._conn, tuple_row, _DELETE, (vendor_id,)) is not None

    async def page(self, request: PageRequest) -> Page[Agent]:
        agents = await fetch_all(self._conn, AGENT_ROW, _PAGE, (request.limit, request.offset))
        counted = await fetch_one(self._conn, tuple_row, _COUNT)
        total = int(counted[0]) if counted else 0
        return Page(agents, request.page, request.limit, total)

    async def all(self) -> list[Agent]:
        return await fetch_all(self._conn, AGENT_ROW, _ALL)

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
        applied = {agent_id for (agent_id,) in await fetch_all(self._conn, tuple_row, _APPLY_TRANSITIONS, params)}
        return [t for t in planned if t.agent_id in applied]
