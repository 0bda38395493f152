"""Reconciliation: runs that compare a vendor's catalogue in its ERP with ours, and what they found.

A *run* checks one vendor's items, stock or both (``ReconciledEntity``), finds
the rows that differ by comparing range checksums (``policies.reconciliation``),
and repairs them: the ERP wins. Every repaired row leaves one event
(``RowRepair``); every run leaves a summary (``RunSummary``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType
from uuid import UUID

from restosync_core.model.ids import VendorId

RunId = NewType("RunId", UUID)


class ReconciliationEventType(enum.StrEnum):
    DRIFT_CHECK = "drift_check"
    """A run that found no drift."""
    DRIFT_DETECTED = "drift_detected"
    """A run that found drift (repaired, or stopped by the blast-radius limit)."""
    CONFLICT_RESOLVED = "conflict_resolved"
    """One row repaired (the ERP won)."""
    ERROR = "error"
    """A run that failed or was skipped (agent offline, breaker open, agent error)."""


class ReconciledEntity(enum.StrEnum):
    ITEMS = "items"
    STOCK = "stock"


class RunScope(enum.StrEnum):
    """What a run compares: one entity, or both (items first: stock rows name items)."""

    ITEMS = "items"
    STOCK = "stock"
    ALL = "all"

    @property
    def entities(self) -> tuple[ReconciledEntity, ...]:
        if self is RunScope.ALL:
            return (ReconciledEntity.ITEMS, ReconciledEntity.STOCK)
        return (ReconciledEntity(self.value),)


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    """Compared; any drift found was repaired (rows a newer push had touched are left to that push)."""
    STOPPED = "stopped"
    """Drift over the blast-radius limit: nothing changed; an admin may confirm with the trigger."""
    SKIPPED = "skipped"
    """Not compared: the agent is offline or unreachable, or its breaker is open."""
    FAILED = "failed"
    """The agent broke the protocol, or restosync failed; the reason says which."""

    @property
    def active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


class RunTrigger(enum.StrEnum):
    SCHEDULE = "schedule"
    ADMIN = "admin"


class RepairAction(enum.StrEnum):
    INSERTED = "inserted"
    """The ERP has the row, we did not: written."""
    UPDATED = "updated"
    """Both have it with different content: the ERP's row written."""
    DEACTIVATED = "deactivated"
    """We have it, the ERP does not: marked deactivated (never deleted)."""


class RepairOutcome(enum.StrEnum):
    REPAIRED = "repaired"
    LEFT_TO_NEWER_PUSH = "left_to_newer_push"
    """A push wrote the row after the run started: the run's older view does not overwrite it."""
    FAILED = "failed"
    """The row could not be written (an unmapped code, an unknown item): the reason says which."""
    NOT_APPLIED = "not_applied"
    """Found by a run that stopped at the blast-radius limit: left as it is."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    """The push format's field name (camelCase, as in docs/agent-protocol.md)."""
    database: str | None
    erp: str | None


@dataclass(frozen=True, slots=True)
class RowRepair:
    """One drifted row and what the run did about it (a ``conflict_resolved`` event when repaired)."""

    entity: ReconciledEntity
    key: tuple[str, ...]
    """(sku,) for items, (sku, warehouseId) for stock."""
    action: RepairAction
    changes: tuple[FieldChange, ...] = ()
    """For an update, the fields that differ."""
    outcome: RepairOutcome = RepairOutcome.REPAIRED
    reason: str | None = None

    @property
    def key_dict(self) -> dict[str, str]:
        if self.entity is ReconciledEntity.ITEMS:
            return {"sku": self.key[0]}
        return {"sku": self.key[0], "warehouseId": self.key[1]}

    def as_dict(self) -> dict[str, object]:
        """The event's summary (and a stopped run's sample): the push format's names."""
        out: dict[str, object] = {
            "key": self.key_dict, "action": self.action.value, "outcome": self.outcome.value,
            "differed": [{"field": c.field, "database": c.database, "erp": c.erp} for c in self.changes],
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class EntitySummary:
    """What a run did for one entity: the figures of the run summary."""

    entity: ReconciledEntity
    database_rows: int = 0
    erp_rows: int = 0
    ranges_visited: int = 0
    """Ranges whose checksums were compared (the whole set counts as one)."""
    agent_calls: int = 0
    rows_compared: int = 0
    """Rows fetched from both sides and compared field by field (those of the differing leaf ranges)."""
    drift_found: int = 0
    repaired: int = 0
    left_to_newer_push: int = 0
    failed: int = 0
    inserted: int = 0
    updated: int = 0
    deactivated: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity.value, "databaseRows": self.database_rows, "erpRows": self.erp_rows,
            "rangesVisited": self.ranges_visited, "agentCalls": self.agent_calls,
            "rowsCompared": self.rows_compared, "driftFound": self.drift_found, "repaired": self.repaired,
            "leftToNewerPush": self.left_to_newer_push, "failed": self.failed, "inserted": self.inserted,
            "updated": self.updated, "deactivated": self.deactivated,
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    entities: tuple[EntitySummary, ...] = ()
    duration_ms: int = 0
    reason: str | None = None
    """Why the run stopped, was skipped or failed (None for a completed run)."""
    samples: tuple[dict[str, object], ...] = ()
    """Up to 20 drifted rows left as they are (a stopped run's preview, rows a newer push owns, failures)."""

    def total(self, name: str) -> int:
        return sum(int(getattr(e, name)) for e in self.entities)

    @property
    def drift_found(self) -> int:
        return self.total("drift_found")

    @property
    def repaired(self) -> int:
        return self.total("repaired")

    @property
    def agent_calls(self) -> int:
        return self.total("agent_calls")

    @property
    def ranges_visited(self) -> int:
        return self.total("ranges_visited")

    @property
    def rows_compared(self) -> int:
        return self.total("rows_compared")

    def as_dict(self) -> dict[str, object]:
        return {
            "entities": [e.as_dict() for e in self.entities], "durationMs": self.duration_ms,
            "reason": self.reason, "driftFound": self.drift_found, "repaired": self.repaired,
            "agentCalls": self.agent_calls, "rangesVisited": self.ranges_visited,
            "rowsCompared": self.rows_compared, "samples": list(self.samples),
        }


@dataclass(frozen=True, slots=True)
class ReconciliationRun:
    id: RunId
    vendor_id: VendorId
    scope: RunScope
    trigger: RunTrigger
    status: RunStatus
    requested_at: datetime
    confirmed: bool = False
    """Whether the blast-radius limit was lifted for this run (an admin's ``confirm``)."""
    correlation_id: UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    summary: RunSummary = field(default_factory=RunSummary)


@dataclass(frozen=True, slots=True)
class ReconciliationEvent:
    id: UUID
    vendor_id: VendorId
    event_type: ReconciliationEventType
    entity: str
    duration_ms: int
    created_at: datetime
    summary: dict[str, object] = field(default_factory=dict)
    run_id: RunId | None = None
