"""The reconciliation-events archive (weekly, REQ-10): events older than their retention are deleted.

The events are a log of checks and corrections; what they decided is already in
the catalogue tables, so past the retention period nothing else refers to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from restosync_core.policies.retention import RetentionPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.use_cases._retention import RetentionReport, delete_expired


@dataclass(frozen=True, slots=True)
class ArchiveReconciliationEvents:
    retention: RetentionStore
    clock: Clock
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)

    async def __call__(self) -> RetentionReport:
        report = RetentionReport()
        await delete_expired(self.retention, self.policy, Expiring.RECONCILIATION_EVENTS, self.clock.now(), report)
        return report
