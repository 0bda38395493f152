"""Shared by the cleanup use cases: delete what expired, one bounded chunk (one short transaction) at a time."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from restosync_core.policies.retention import RetentionPolicy
from restosync_core.ports.retention import Expiring, RetentionStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RetentionReport:
    """What one cleanup run removed (and, for sync jobs, dead-lettered first)."""

    removed: dict[Expiring, int] = field(default_factory=dict)
    dead_lettered: int = 0

    def __str__(self) -> str:
        parts = [f"{count} {what.value} removed" for what, count in self.removed.items()]
        if self.dead_lettered:
            parts.insert(0, f"{self.dead_lettered} undelivered sync job(s) dead-lettered")
        return ", ".join(parts) or "nothing to do"


async def delete_expired(
    store: RetentionStore, policy: RetentionPolicy, what: Expiring, now: datetime, report: RetentionReport
) -> int:
    """Delete every row of ``what`` older than its limit, chunk after chunk; record the count in ``report``."""
    before = policy.cutoff(what, now)
    total = 0
    while True:
        deleted = await store.delete_chunk(what, before, policy.chunk_size)
        total += deleted
        if deleted:
            log.debug("removed %d %s older than %s (%d so far)", deleted, what.value, before.isoformat(), total)
        if deleted < policy.chunk_size:
            break
    report.removed[what] = total
    if total:
        log.info("removed %d %s older than %s", total, what.value, before.isoformat())
    return total
