"""The cron table (REQ-10): what the scheduler wakes, when, on which queue. One line per task.

Each task runs once per tick however many schedulers and workers fire it: its
body runs under a PostgreSQL advisory lock (``pg_try_advisory_xact_lock``: a run
still going when the next tick comes makes that tick skip), and it first claims
its tick in ``task_runs`` (a tick fired twice, by two schedulers or a backlog,
runs once). A task that fails is logged and recorded as failed; it runs again at
its next tick, and the other tasks are not held up (each is an RQ job of its own).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crontab import CronTab  # type: ignore[import-untyped]  # rq-scheduler's cron parser, untyped

from restosync_adapters.bootstrap import ORDER_SYNC, RECONCILIATION, Services
from restosync_adapters.settings import Settings

log = logging.getLogger(__name__)

Task = Callable[[Services], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class CronEntry:
    name: str
    schedule: Callable[[Settings], str]
    """The cron expression (from settings, so tests and operators can change it)."""
    task: Task
    queue: str = RECONCILIATION
    timeout_seconds: int = 600


async def _sweep_sync_jobs(services: Services) -> object:
    return await services.sweep_sync_jobs()


async def _check_agent_health(services: Services) -> object:
    report = await services.check_agent_health()
    return f"{report.checked} checked, {len(report.transitions)} transition(s)"


async def _detect_drift(services: Services) -> object:
    return await services.detect_drift()


async def _alert_dead_letters(services: Services) -> object:
    return f"{await services.alert_dead_letters()} unresolved dead letter(s)"


async def _cleanup_expired_jobs(services: Services) -> object:
    return str(await services.cleanup_expired_jobs())


async def _archive_reconciliation_events(services: Services) -> object:
    return str(await services.archive_reconciliation_events())


async def _cleanup_resolved_dead_letters(services: Services) -> object:
    return str(await services.cleanup_resolved_dead_letters())


CLEANUP_TIMEOUT_SECONDS = 3600
"""A first cleanup of a large backlog deletes chunk after chunk; give it an hour (RQ's job timeout)."""

CRON_ENTRIES: tuple[CronEntry, ...] = (
    CronEntry("sweep-sync-jobs", lambda s: s.sweep_cron, _sweep_sync_jobs, queue=ORDER_SYNC),
    CronEntry("check-agent-health", lambda s: s.agent_health_cron, _check_agent_health),
    CronEntry("detect-drift", lambda s: s.drift_detection_cron, _detect_drift),
    CronEntry("alert-dead-letters", lambda s: s.dlq_alert_cron, _alert_dead_letters),
    CronEntry(
        "cleanup-expired-jobs",
        lambda s: s.job_cleanup_cron,
        _cleanup_expired_jobs,
        timeout_seconds=CLEANUP_TIMEOUT_SECONDS,
    ),
    CronEntry(
        "archive-reconciliation-events",
        lambda s: s.reconciliation_archive_cron,
        _archive_reconciliation_events,
        timeout_seconds=CLEANUP_TIMEOUT_SECONDS,
    ),
    CronEntry(
        "cleanup-resolved-dead-letters",
        lambda s: s.dlq_cleanup_cron,
        _cleanup_resolved_dead_letters,
        timeout_seconds=CLEANUP_TIMEOUT_SECONDS,
    ),
)
BY_NAME = {entry.name: entry for entry in CRON_ENTRIES}


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key per task."""
    return int.from_bytes(hashlib.sha256(f"restosync-cron:{name}".encode()).digest()[:8], "big", signed=True)


def tick_of(expression: str, now: datetime) -> datetime:
    """The tick a run at ``now`` belongs to: the latest time at or before ``now`` the expression fires (UTC)."""
    previous: datetime = CronTab(expression).previous(
        now=now + timedelta(microseconds=1), delta=False, default_utc=True, return_datetime=True
    )
    return previous


async def run_scheduled_task(name: str, services: Services) -> object:
    """A cron tick: the task, unless another run holds its lock or its tick already ran."""
    return await _run(name, services, claim_tick=True)


async def run_task(name: str, services: Services) -> object:
    """A run outside the schedule (a worker's sweep when it starts or reconnects): only the lock applies."""
    return await _run(name, services, claim_tick=False)


async def _run(name: str, services: Services, *, claim_tick: bool) -> object:
    entry = BY_NAME.get(name)
    if entry is None:
        log.error("unknown cron task %r (the scheduler and workers run different versions?)", name)
        return "unknown"
    async with services.try_lock(lock_key(name)) as acquired:
        if not acquired:
            log.info("cron task %s is already running elsewhere; this tick is skipped", name)
            return "skipped"
        tick = tick_of(entry.schedule(services.settings), services.clock.now())
        if claim_tick and not await services.task_runs.claim(name, tick, services.clock.now()):
            log.info("cron task %s already ran for its tick %s; skipped", name, tick.isoformat())
            return "skipped"
        try:
            result = await entry.task(services)
        except Exception as exc:
            log.exception("cron task %s failed; it runs again at its next tick", name)
            if claim_tick:
                await services.task_runs.finish(name, tick, services.clock.now(), ok=False, detail=repr(exc))
            return "failed"
        if claim_tick:
            await services.task_runs.finish(name, tick, services.clock.now(), ok=True, detail=str(result))
    log.info("cron task %s done: %s", name, result)
    return result
