"""Resolved dead letters (weekly, REQ-8 cleanup): deleted once resolved this long ago; unresolved ones never."""

from __future__ import annotations

from dataclasses import dataclass, field

from restosync_core.policies.retention import RetentionPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.use_cases._retention import RetentionReport, delete_expired


@dataclass(frozen=True, slots=True)
class CleanupResolvedDeadLetters:
    retention: RetentionStore
    clock: Clock
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)

    async def __call__(self) -> RetentionReport:
        report = RetentionReport()
        await delete_expired(self.retention, self.policy, Expiring.RESOLVED_DEAD_LETTERS, self.clock.now(), report)
        return report
