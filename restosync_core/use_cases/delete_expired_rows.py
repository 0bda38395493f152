"""Delete one kind of row past its retention, in bounded chunks (REQ-8 cleanup, REQ-10 archive).

Two scheduled tasks are this use case with a different ``what``:

- resolved dead letters (weekly): deleted once resolved this long ago; unresolved
  ones never;
- reconciliation events (weekly, the "archive"): the events are a log of checks
  and corrections; what they decided is already in the catalogue tables, so past
  the retention period nothing else refers to them. Finished reconciliation runs
  older than the same period go with them (with any event of theirs left);
  a queued or running run is never deleted.

Sync jobs have a use case of their own (``cleanup_expired_jobs``): an undelivered
one becomes a dead letter before anything is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from restosync_core.policies.retention import RetentionPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.use_cases._retention import RetentionReport, delete_expired


@dataclass(frozen=True, slots=True)
class DeleteExpiredRows:
    retention: RetentionStore
    clock: Clock
    what: Expiring
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)

    async def __call__(self) -> RetentionReport:
        report = RetentionReport()
        await delete_expired(self.retention, self.policy, self.what, self.clock.now(), report)
        return report
