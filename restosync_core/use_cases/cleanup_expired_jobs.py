"""Expired sync jobs (daily, REQ-10): dead-letter the undelivered ones, then delete the finished ones.

A job that was never delivered is never deleted: one still unfinished this long
after it was placed (or last retried) becomes a dead letter first, its order
marked failed, and people are told (``dlq_entries_found``). Completed jobs go
after ``completed_jobs``, failed ones after ``failed_jobs``; a failed job's dead
letter stays, and a retry rebuilds the job from the letter's payload.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from restosync_core.model.ids import VendorId
from restosync_core.policies import retry
from restosync_core.policies.retention import RetentionPolicy
from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.clock import Clock
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases._retention import RetentionReport, delete_expired
from restosync_core.use_cases.dead_letter_sync_job import dead_letter_sync_job

log = logging.getLogger(__name__)

DEAD_LETTER_CHUNK = 100
"""Jobs dead-lettered per transaction: each takes a few statements, and their rows stay locked until it ends."""


@dataclass(frozen=True, slots=True)
class CleanupExpiredJobs:
    uow: UnitOfWorkFactory
    retention: RetentionStore
    alerts: AlertSink
    clock: Clock
    policy: RetentionPolicy = field(default_factory=RetentionPolicy)

    async def __call__(self) -> RetentionReport:
        now = self.clock.now()
        report = RetentionReport()
        report.dead_lettered = await self._dead_letter_undelivered(now)
        for what in (Expiring.COMPLETED_SYNC_JOBS, Expiring.FAILED_SYNC_JOBS, Expiring.TASK_RUNS,
                     Expiring.INGEST_COUNTS):
            await delete_expired(self.retention, self.policy, what, now, report)
        return report

    async def _dead_letter_undelivered(self, now: datetime) -> int:
        before = now - self.policy.unfinished_jobs
        hours = self.policy.unfinished_jobs.total_seconds() / 3600
        chunk = min(self.policy.chunk_size, DEAD_LETTER_CHUNK)
        per_vendor: Counter[VendorId] = Counter()
        oldest: dict[VendorId, datetime] = {}
        while True:
            async with self.uow() as uow:
                jobs = await uow.sync_jobs.overdue_unfinished(before, now, chunk)
                for job in jobs:
                    error = f"not delivered within {hours:g} h (was {job.status.value}; last error: {job.last_error})"
                    await dead_letter_sync_job(uow, replace(retry.dead(job, now), last_error=error), now)
                    per_vendor[job.vendor_id] += 1
                    oldest[job.vendor_id] = min(oldest.get(job.vendor_id, job.created_at), job.created_at)
            if len(jobs) < chunk:
                break
        if per_vendor:
            await self._alert(per_vendor, oldest, now)
        return sum(per_vendor.values())

    async def _alert(self, per_vendor: Counter[VendorId], oldest: dict[VendorId, datetime], now: datetime) -> None:
        hours = self.policy.unfinished_jobs.total_seconds() / 3600
        alerts = [
            Alert(
                type=AlertType.DLQ_ENTRIES_FOUND,
                message=f"{count} order(s) of vendor {vendor} were not delivered within {hours:g} h and were "
                "moved to the dead-letter queue.",
                at=now,
                vendor_id=vendor,
                since=oldest[vendor],
                subject="undelivered",
                details={"deadLettered": count},
            )
            for vendor, count in sorted(per_vendor.items())
        ]
        try:
            await self.alerts.send_many(alerts)
        except Exception:  # the dead letters are written; an alert channel down must not undo the cleanup
            log.exception("could not send the alert for %d dead-lettered job(s)", sum(per_vendor.values()))
