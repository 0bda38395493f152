"""The cron table: what the scheduler wakes, when, on which queue. One line per task.

Each task body runs under a PostgreSQL advisory lock (``pg_try_advisory_lock``):
if two schedulers fire the same tick, or a tick overlaps the previous one, the
second run finds the lock taken and skips.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


CRON_ENTRIES: tuple[CronEntry, ...] = (
    CronEntry("sweep-sync-jobs", lambda s: s.sweep_cron, _sweep_sync_jobs, queue=ORDER_SYNC),
    CronEntry("check-agent-health", lambda s: "*/5 * * * *", _check_agent_health),
    # Later: CronEntry("dlq-alert", lambda s: "*/15 * * * *", _alert_if_dead_letters), cleanups ...
)
BY_NAME = {entry.name: entry for entry in CRON_ENTRIES}


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key per task."""
    return int.from_bytes(hashlib.sha256(f"restosync-cron:{name}".encode()).digest()[:8], "big", signed=True)


async def run_task(name: str, services: Services) -> object:
    entry = BY_NAME.get(name)
    if entry is None:
        log.error("unknown cron task %r (the scheduler and workers run different versions?)", name)
        return "unknown"
    async with services.try_lock(lock_key(name)) as acquired:
        if not acquired:
            log.info("cron task %s is already running elsewhere; this tick is skipped", name)
            return "skipped"
        result = await entry.task(services)
    log.info("cron task %s done: %s", name, result)
    return result
