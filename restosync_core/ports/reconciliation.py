"""Ports of reconciliation: the agent's side, our side, the runs and their events, the queue.

``ReconciliationAgent`` asks a vendor's agent for range checksums and rows
(docs/agent-protocol.md#reconciliation); ``CatalogDigests`` answers the same
questions from PostgreSQL, over the rows a run may compare (deactivated rows
are not part of the set), and deactivates rows the ERP no longer has.
``ReconciliationRuns`` keeps runs (one active per vendor) and their events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.model.reconciliation import (
    ReconciledEntity,
    ReconciliationEvent,
    ReconciliationEventType,
    ReconciliationRun,
    RowRepair,
    RunId,
    RunScope,
    RunStatus,
    RunSummary,
)
from restosync_core.policies.reconciliation import PositionRange, RangeDigest

Row = Item | StockLevel
RowKey = tuple[str, ...]
"""(sku,) for an item, (sku, ERP warehouse code) for a stock row."""


class ReconciliationAgent(Protocol):
    """The agent's side. Every method raises ``AgentUnavailable`` (timeout, 5xx, 408, 429, no answer) or
    ``AgentRefused`` (another 4xx, a denied address, or an answer that breaks the protocol)."""

    async def checksums(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, parts: int, *, correlation_id: UUID
    ) -> list[RangeDigest]:
        """``GET {agent.url}/sync/checksum``: the digests of the ``parts`` children of ``rng``, in order."""
        ...

    async def rows(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, *, correlation_id: UUID
    ) -> list[Row]:
        """``GET {agent.url}/sync/items`` (or ``/sync/stock``): the rows whose position is in ``rng``."""
        ...


class CatalogDigests(Protocol):
    """Our side, read outside any unit of work (each call is one statement)."""

    async def checksums(
        self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange, parts: int
    ) -> list[RangeDigest]:
        """The digests of the ``parts`` children of ``rng`` over the vendor's rows that are not deactivated."""
        ...

    async def rows(
        self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange
    ) -> list[tuple[Row, str]]:
        """The vendor's rows in ``rng`` that are not deactivated, as the ERP described them, each with its
        content hash."""
        ...

    async def deactivate(
        self,
        vendor_id: VendorId,
        entity: ReconciledEntity,
        keys: Sequence[RowKey],
        *,
        untouched_since: datetime,
        at: datetime,
    ) -> set[RowKey]:
        """Mark these rows deactivated (an item also ``active = false``), except those written at or after
        ``untouched_since`` (a push newer than the run's view); the keys deactivated. Never deletes."""
        ...


@dataclass(frozen=True, slots=True)
class RunRequest:
    run: ReconciliationRun
    created: bool
    """False: the vendor already had an active run, and ``run`` is that one."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    vendor_id: VendorId | None = None
    entity: RunScope | None = None
    """``items`` or ``stock``: row events of that entity and run events of runs of it; ``all``: run events
    of runs of both (a run's own event carries its scope)."""
    run_id: RunId | None = None
    event_type: ReconciliationEventType | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class WindowFigures:
    runs: int = 0
    """Runs finished in the window."""
    compared: int = 0
    """Of those, runs that compared (completed or stopped)."""
    with_drift: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    drift_found: int = 0
    repaired: int = 0

    @property
    def drift_frequency(self) -> float | None:
        """The share of comparing runs that found drift (None when none compared)."""
        return self.with_drift / self.compared if self.compared else None


@dataclass(frozen=True, slots=True)
class ReconciliationMetrics:
    vendor_id: VendorId
    event_count: int
    last_run: ReconciliationRun | None
    last_24h: WindowFigures
    last_7d: WindowFigures
    recent_runs: list[ReconciliationRun]


class ReconciliationRuns(Protocol):
    async def request(self, run: ReconciliationRun) -> RunRequest:
        """Store ``run`` (queued) unless its vendor has an active run (queued, or running under a live
        process: a run whose process died is marked failed first); at most one active run per vendor."""
        ...

    async def claim(self, run_id: RunId, at: datetime) -> ReconciliationRun | None:
        """queued -> running; None when it is not queued (already run, or a repeated wake-up)."""
        ...

    async def finish(
        self,
        run: ReconciliationRun,
        status: RunStatus,
        summary: RunSummary,
        repairs: Sequence[RowRepair],
        at: datetime,
    ) -> ReconciliationRun:
        """Record the outcome, one run event, and one ``conflict_resolved`` event per repaired row, at once."""
        ...

    async def get(self, run_id: RunId) -> ReconciliationRun | None: ...

    async def active(self) -> list[ReconciliationRun]:
        """Every queued or running run."""
        ...

    async def events(self, where: EventFilter, page: PageRequest) -> Page[ReconciliationEvent]:
        """Newest first."""
        ...

    async def metrics(self, vendor_id: VendorId, now: datetime, *, recent: int = 20) -> ReconciliationMetrics: ...


class ReconciliationQueue(Protocol):
    async def wake_run(self, run_id: RunId) -> bool:
        """Have a reconciliation worker run it; False when that wake-up is already queued.
        Raises ``DependencyUnavailable`` when the queue is down."""
        ...
