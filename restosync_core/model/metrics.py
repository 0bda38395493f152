"""A vendor's sync figures over a window (REQ-11): order deliveries, pushes by outcome, and what is open now."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from restosync_core.model.agents import AgentStatus
from restosync_core.model.delivery import BreakerState, BreakerStatus
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import RowReason, RowStatus
from restosync_core.model.orders import SyncJobStatus


class Window(enum.StrEnum):
    """How far back the figures look: ``?window=1h|24h|7d``."""

    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"

    @property
    def duration(self) -> timedelta:
        return _DURATIONS[self]


_DURATIONS = {Window.HOUR: timedelta(hours=1), Window.DAY: timedelta(hours=24), Window.WEEK: timedelta(days=7)}
DEFAULT_WINDOW = Window.DAY


class IngestEntity(enum.StrEnum):
    """What an agent pushes: one counter family each."""

    ITEMS = "items"
    STOCK = "stock"
    WAREHOUSES = "warehouses"


PROCESSED = RowStatus.PROCESSED.value
"""The outcome of a row that was written; every other outcome is a ``RowReason`` value."""

_SKIPS = (RowReason.UNCHANGED, RowReason.STALE, RowReason.DUPLICATE_IN_REQUEST)
_ITEM_FAILURES = (RowReason.UNMAPPED_UNIT, RowReason.UNMAPPED_VAT)
_STOCK_FAILURES = (RowReason.UNKNOWN_ITEM, RowReason.UNKNOWN_WAREHOUSE)
OUTCOMES: Mapping[IngestEntity, tuple[str, ...]] = {
    IngestEntity.ITEMS: (PROCESSED, *(r.value for r in (*_SKIPS, *_ITEM_FAILURES))),
    IngestEntity.STOCK: (PROCESSED, *(r.value for r in (*_SKIPS, *_STOCK_FAILURES))),
    IngestEntity.WAREHOUSES: (PROCESSED, *(r.value for r in _SKIPS)),
}
"""The outcomes a push of each entity can answer per row (``model.ingest``), in the order they are shown."""

ALL_ROWS = "all"
"""The counter row of every push whatever its rows' outcomes: its ``pushes`` is the number of pushes."""


def outcome_status(outcome: str) -> RowStatus:
    """processed, skipped or failed: the kind of an outcome."""
    return RowStatus.PROCESSED if outcome == PROCESSED else RowReason(outcome).status


def push_counts(reasons: Sequence[RowReason | None]) -> dict[str, OutcomeCount]:
    """One push's counter increments: per outcome one push and its rows, and ``ALL_ROWS`` for the whole push."""
    rows = Counter(PROCESSED if reason is None else reason.value for reason in reasons)
    counts = {outcome: OutcomeCount(1, n) for outcome, n in rows.items()}
    counts[ALL_ROWS] = OutcomeCount(1, len(reasons))
    return counts


def hour_of(at: datetime) -> datetime:
    """The start of the UTC hour holding ``at``: the push counters' bucket."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide by (no data is not a rate of 0)."""
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    pushes: int = 0
    """Pushes with at least one row of this outcome."""
    rows: int = 0


@dataclass(frozen=True, slots=True)
class IngestCount:
    """One counter row summed over the window: an entity's pushes and rows of one outcome (or ``ALL_ROWS``)."""

    entity: IngestEntity
    outcome: str
    pushes: int
    rows: int


@dataclass(frozen=True, slots=True)
class IngestFigures:
    """One entity's pushes in the window: how many, and their rows by outcome."""

    entity: IngestEntity
    pushes: int = 0
    rows: int = 0
    by_outcome: Mapping[str, OutcomeCount] = field(default_factory=dict)

    def rows_with(self, status: RowStatus) -> int:
        return sum(c.rows for outcome, c in self.by_outcome.items() if outcome_status(outcome) is status)

    @classmethod
    def of(cls, entity: IngestEntity, counts: list[IngestCount]) -> IngestFigures:
        """The figures of ``entity`` from the summed counter rows (others' rows ignored); every outcome shown."""
        mine = {c.outcome: c for c in counts if c.entity is entity}
        total = mine.get(ALL_ROWS)
        by_outcome = {
            outcome: OutcomeCount(mine[outcome].pushes, mine[outcome].rows) if outcome in mine else OutcomeCount()
            for outcome in OUTCOMES[entity]
        }
        return cls(entity, total.pushes if total else 0, total.rows if total else 0, by_outcome)


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Milliseconds; None when no delivery of the window got that far."""

    samples: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryFigures:
    """The sync jobs of orders placed in the window (``created_at`` at or after its start)."""

    by_status: Mapping[SyncJobStatus, int] = field(default_factory=dict)
    retried: int = 0
    """Jobs with more than one delivery attempt."""
    avg_callback_ms: float | None = None
    """Mean of placed -> completed over the completed jobs."""
    to_accepted: Percentiles = Percentiles()
    """Placed (``created_at``) -> the agent's 2xx (``sent_at``)."""
    to_callback: Percentiles = Percentiles()
    """Placed -> the ``completed`` callback (``completed_at``)."""

    def count(self, status: SyncJobStatus) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def completed(self) -> int:
        return self.count(SyncJobStatus.COMPLETED)

    @property
    def failed(self) -> int:
        return self.count(SyncJobStatus.FAILED)

    @property
    def pending(self) -> int:
        """Not finished yet: pending, processing or sent (awaiting its callback)."""
        return self.total - self.completed - self.failed

    @property
    def success_rate(self) -> float | None:
        """Completed among the finished (completed + failed); None when none finished."""
        return rate(self.completed, self.completed + self.failed)

    @property
    def retry_rate(self) -> float | None:
        """Jobs retried (more than one attempt) among all; None when there are none."""
        return rate(self.retried, self.total)


@dataclass(frozen=True, slots=True)
class DeadLetterFigures:
    open: int = 0
    """Unresolved, whenever they were created."""
    opened_in_window: int = 0
    """Of those, created in the window."""


@dataclass(frozen=True, slots=True)
class AgentFigures:
    status: AgentStatus
    """As of now (``policies.agent_health``), not as of the last health check."""
    last_heartbeat_at: datetime | None
    version: str | None


@dataclass(frozen=True, slots=True)
class VendorMetrics:
    vendor_id: VendorId
    window: Window
    since: datetime
    until: datetime
    deliveries: DeliveryFigures
    completed_kept_since: datetime | None
    """Completed jobs are deleted after their retention: before this instant the window may miss some."""
    ingest_since: datetime
    """The counters are hourly: the first hour counted (the one holding ``since``)."""
    ingest: Mapping[IngestEntity, IngestFigures]
    dead_letters: DeadLetterFigures
    breakers: tuple[BreakerStatus, ...]
    """The vendor's breakers that have seen a call (``vendorId:apiType``)."""
    order_breaker: BreakerState
    """The ``orders`` breaker's state; closed while it has seen no call."""
    agent: AgentFigures | None
    """None when no agent is registered for the vendor (its figures may still hold the past)."""
