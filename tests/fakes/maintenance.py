"""Fakes for scheduled maintenance: retention deletes, task runs, alert de-duplication and a notifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from restosync_core.model.ids import VendorId
from restosync_core.model.orders import DeadLetter, SyncJob, SyncJobStatus
from restosync_core.ports.alerts import AlertMessage
from restosync_core.ports.clock import Clock
from restosync_core.ports.retention import Expiring


@dataclass(frozen=True, slots=True)
class FakeReconciliationEvent:
    vendor_id: VendorId
    created_at: datetime


class FakeRetentionStore:
    """Deletes from the fake tables as the SQL does (a deleted job's letters lose their ``sync_job_id``).

    ``chunks`` records the size of every chunk deleted, so a test sees the deletes were bounded.
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        self.chunks: list[tuple[Expiring, int]] = []

    def _expired(self, what: Expiring, before: datetime) -> tuple[dict[Any, Any], list[Any]]:
        jobs: dict[Any, SyncJob] = self.db.table("sync_jobs")
        letters: dict[Any, DeadLetter] = self.db.table("dead_letters")
        if what is Expiring.COMPLETED_SYNC_JOBS:
            return jobs, [
                k
                for k, j in jobs.items()
                if j.status is SyncJobStatus.COMPLETED and j.completed_at is not None and j.completed_at < before
            ]
        if what is Expiring.FAILED_SYNC_JOBS:
            return jobs, [k for k, j in jobs.items() if j.status is SyncJobStatus.FAILED and j.updated_at < before]
        if what is Expiring.RESOLVED_DEAD_LETTERS:
            return letters, [
                k for k, d in letters.items() if d.resolved and d.resolved_at is not None and d.resolved_at < before
            ]
        if what is Expiring.RECONCILIATION_EVENTS:
            events: dict[Any, Any] = self.db.table("reconciliation_events")
            return events, [k for k, e in events.items() if e.created_at < before]
        if what is Expiring.INGEST_COUNTS:  # FakeIngestCounter's: keyed (vendor, entity, hour, outcome)
            counts: dict[Any, Any] = self.db.table("ingest_counts")
            return counts, [k for k in counts if k[2] < before]
        runs: dict[Any, dict[str, Any]] = self.db.table("task_runs")
        return runs, [k for k, r in runs.items() if r["started_at"] < before]

    async def delete_chunk(self, what: Expiring, before: datetime, limit: int) -> int:
        table, keys = self._expired(what, before)
        chunk = keys[:limit]
        for key in chunk:
            del table[key]
        if what is Expiring.RECONCILIATION_EVENTS and len(chunk) < limit:
            # as the SQL: the rest of the chunk goes to finished runs, whose events go with them
            runs: dict[Any, Any] = self.db.table("reconciliation_runs")
            done = [k for k, r in runs.items()
                    if r.finished_at is not None and r.finished_at < before and not r.status.active]
            done = done[: limit - len(chunk)]
            for key in done:
                del runs[key]
            events_left: dict[Any, Any] = self.db.table("reconciliation_events")
            for event_id in [k for k, e in events_left.items() if getattr(e, "run_id", None) in done]:
                del events_left[event_id]
            self.chunks.append((what, len(chunk) + len(done)))
            return len(chunk) + len(done)
        if what in (Expiring.COMPLETED_SYNC_JOBS, Expiring.FAILED_SYNC_JOBS):  # ON DELETE SET NULL
            letters: dict[Any, DeadLetter] = self.db.table("dead_letters")
            for letter_id, letter in list(letters.items()):
                if letter.sync_job_id in chunk:
                    letters[letter_id] = replace(letter, sync_job_id=None)
        self.chunks.append((what, len(chunk)))
        return len(chunk)


class FakeTaskRuns:
    def __init__(self, db: Any) -> None:
        self.rows: dict[tuple[str, datetime], dict[str, Any]] = db.table("task_runs")

    async def claim(self, task: str, tick: datetime, now: datetime) -> bool:
        if (task, tick) in self.rows:
            return False
        self.rows[(task, tick)] = {"status": "running", "started_at": now, "detail": None}
        return True

    async def finish(self, task: str, tick: datetime, now: datetime, *, ok: bool, detail: str) -> None:
        self.rows[(task, tick)].update(status="done" if ok else "failed", detail=detail, finished_at=now)


class FakeAlertThrottle:
    """Keys told, with when; a key is new again once ``window_seconds`` have passed on the clock."""

    def __init__(self, clock: Clock, *, failing: bool = False) -> None:
        self.clock = clock
        self.told: dict[str, datetime] = {}
        self.failing = failing

    async def first_in_window(self, keys: Sequence[str], window_seconds: int) -> set[str]:
        if self.failing:
            raise ConnectionError("the throttle's store is down")
        now = self.clock.now()
        fresh = {k for k in keys if k not in self.told or now - self.told[k] >= timedelta(seconds=window_seconds)}
        for key in fresh:
            self.told[key] = now
        return fresh


class FakeAlertNotifier:
    """Records what would reach Slack; ``on_notify`` lets a test see when (e.g. that the caller never waited)."""

    def __init__(self, on_notify: Callable[[AlertMessage], None] | None = None) -> None:
        self.messages: list[AlertMessage] = []
        self.on_notify = on_notify

    def notify(self, message: AlertMessage) -> None:
        self.messages.append(message)
        if self.on_notify is not None:
            self.on_notify(message)
