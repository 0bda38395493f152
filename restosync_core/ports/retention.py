"""The RetentionStore port: old rows deleted a bounded chunk at a time (REQ-8 cleanup, REQ-10)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol


class Expiring(enum.StrEnum):
    """What retention deletes, and by which time each is aged."""

    COMPLETED_SYNC_JOBS = "completed sync jobs"
    """By ``completed_at``."""
    FAILED_SYNC_JOBS = "failed sync jobs"
    """By ``updated_at`` (when they failed); their dead letters stay and can still be retried."""
    RESOLVED_DEAD_LETTERS = "resolved dead letters"
    """By ``resolved_at``; an unresolved letter is never deleted."""
    RECONCILIATION_EVENTS = "reconciliation events and runs"
    """By ``created_at``."""
    TASK_RUNS = "scheduled task runs"
    """By ``started_at``."""
    INGEST_COUNTS = "hourly push counters"
    """By their hour (the per-vendor metrics' counters)."""


class RetentionStore(Protocol):
    async def delete_chunk(self, what: Expiring, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` rows of ``what`` older than ``before`` (strictly), in one short
        transaction that skips rows another transaction holds; answer how many were deleted."""
        ...
