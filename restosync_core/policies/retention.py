"""How long finished data is kept (REQ-10): a row strictly older than its limit is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from restosync_core.ports.retention import Expiring

TASK_RUNS_KEPT = timedelta(days=7)
INGEST_COUNTS_KEPT = timedelta(days=8)
"""The metrics' longest window (7 d) and the hour that holds its start, with a day to spare."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    completed_jobs: timedelta = timedelta(hours=24)
    failed_jobs: timedelta = timedelta(days=7)
    resolved_dead_letters: timedelta = timedelta(days=30)
    reconciliation_events: timedelta = timedelta(days=30)
    unfinished_jobs: timedelta = timedelta(hours=24)
    """A job still not delivered this long after it was placed (or last retried) becomes a dead letter."""
    chunk_size: int = 1000
    """Rows per delete statement (each its own short transaction)."""

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("a retention chunk holds at least one row")

    def kept_for(self, what: Expiring) -> timedelta:
        return {
            Expiring.COMPLETED_SYNC_JOBS: self.completed_jobs,
            Expiring.FAILED_SYNC_JOBS: self.failed_jobs,
            Expiring.RESOLVED_DEAD_LETTERS: self.resolved_dead_letters,
            Expiring.RECONCILIATION_EVENTS: self.reconciliation_events,
            Expiring.TASK_RUNS: TASK_RUNS_KEPT,
            Expiring.INGEST_COUNTS: INGEST_COUNTS_KEPT,
        }[what]

    def cutoff(self, what: Expiring, now: datetime) -> datetime:
        """Rows aged strictly before this are deleted."""
        return now - self.kept_for(what)
