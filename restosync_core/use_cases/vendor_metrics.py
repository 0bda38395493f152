"""A vendor's sync metrics over a window (REQ-11): deliveries, pushes, dead letters, breaker and agent.

Each figure is aggregated where it is kept (``SyncMetricsReader``: PostgreSQL
in production) and the reads run concurrently; this use case only assembles
them and works out the rates. A rate with nothing to divide by is None (no
data is not a rate of 0).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from restosync_core.model.agents import Agent
from restosync_core.model.delivery import ORDERS_API, BreakerState, BreakerStatus
from restosync_core.model.ids import VendorId
from restosync_core.model.metrics import (
    DEFAULT_WINDOW,
    AgentFigures,
    IngestEntity,
    IngestFigures,
    VendorMetrics,
    Window,
    hour_of,
)
from restosync_core.policies.agent_health import current_status
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.clock import Clock
from restosync_core.ports.metrics import IngestCounter, SyncMetricsReader
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class GetVendorMetrics:
    reader: SyncMetricsReader
    counter: IngestCounter
    """Flushed first: the pushes this process still holds are counted too (others' lag by their interval)."""
    uow: UnitOfWorkFactory
    breaker: CircuitBreaker
    clock: Clock
    completed_jobs_kept: timedelta = timedelta(hours=24)
    """How long completed sync jobs are kept (retention): a longer window cannot count them all."""

    async def __call__(self, vendor_id: VendorId, window: Window = DEFAULT_WINDOW) -> VendorMetrics:
        await self.counter.flush()
        until = self.clock.now()
        since = until - window.duration
        from_hour = hour_of(since)
        deliveries, dead_letters, counts, breakers, agent = await asyncio.gather(
            self.reader.deliveries(vendor_id, since),
            self.reader.dead_letters(vendor_id, since),
            self.reader.ingest_counts(vendor_id, from_hour),
            self.breaker.status(),
            self._agent(vendor_id),
        )
        mine = tuple(b for b in breakers if b.key.vendor_id == vendor_id)
        kept_since = until - self.completed_jobs_kept
        return VendorMetrics(
            vendor_id=vendor_id,
            window=window,
            since=since,
            until=until,
            deliveries=deliveries,
            completed_kept_since=kept_since if kept_since > since else None,
            ingest_since=from_hour,
            ingest={entity: IngestFigures.of(entity, counts) for entity in IngestEntity},
            dead_letters=dead_letters,
            breakers=mine,
            order_breaker=_orders_state(mine),
            agent=self._figures(agent, until),
        )

    async def _agent(self, vendor_id: VendorId) -> Agent | None:
        async with self.uow(autocommit=True) as uow:
            return await uow.agents.get(vendor_id)

    @staticmethod
    def _figures(agent: Agent | None, now: datetime) -> AgentFigures | None:
        if agent is None:
            return None
        return AgentFigures(current_status(agent, now), agent.last_heartbeat_at, agent.version)


def _orders_state(breakers: tuple[BreakerStatus, ...]) -> BreakerState:
    for status in breakers:
        if status.key.api_type == ORDERS_API:
            return status.state
    return BreakerState.CLOSED
