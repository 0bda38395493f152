"""``python -m restosync_worker.scheduler``: registers the cron table with rq-scheduler and runs it.

Registration is idempotent (each entry has a fixed RQ job id), so a restart
neither duplicates nor loses entries; entries no longer in the table are
cancelled. rq-scheduler keeps a lock so one scheduler enqueues at a time, and
each task body takes a PostgreSQL advisory lock besides (``cron.run_task``).
SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from redis import Redis
from rq_scheduler import Scheduler

from restosync_adapters.logging import configure_logging
from restosync_adapters.queues import rq_queue_name
from restosync_adapters.redis.clients import make_sync_redis
from restosync_adapters.rq_queue import JsonJob
from restosync_adapters.settings import Settings, SettingsError
from restosync_worker.cron import CRON_ENTRIES
from restosync_worker.worker import JsonQueue

log = logging.getLogger("restosync_worker.scheduler")

CRON_FUNC = "restosync_worker.jobs.run_cron_task"
POLL_SECONDS = 10


class PrefixedScheduler(Scheduler):
    """rq-scheduler with every key under ``REDIS_PREFIX`` and JSON-serialised jobs."""

    def __init__(self, prefix: str, connection: Redis, **kwargs: Any) -> None:
        self.scheduler_key = f"{prefix}:rq-scheduler"
        self.scheduler_lock_key = f"{prefix}:rq-scheduler-lock"
        self.scheduled_jobs_key = f"{prefix}:rq-scheduler:scheduled_jobs"
        self.redis_scheduler_namespace_prefix = f"{prefix}:rq-scheduler-instance:"
        super().__init__(connection=connection, job_class=JsonJob, queue_class=JsonQueue, **kwargs)


def cron_job_id(prefix: str, name: str) -> str:
    return f"{prefix}-cron-{name}"


def register(scheduler: Scheduler, settings: Settings) -> list[str]:
    """Put every entry of the cron table in the scheduler; cancel our entries that left the table."""
    prefix = settings.redis_prefix
    wanted = {cron_job_id(prefix, e.name) for e in CRON_ENTRIES}
    for job in scheduler.get_jobs():
        if job.id.startswith(f"{prefix}-cron-") and job.id not in wanted:
            scheduler.cancel(job)
            log.info("cancelled the cron entry %s (no longer in the table)", job.id)
    for entry in CRON_ENTRIES:
        scheduler.cron(
            entry.schedule(settings),
            func=CRON_FUNC,
            args=[entry.name],
            id=cron_job_id(prefix, entry.name),
            queue_name=rq_queue_name(prefix, entry.queue),
            timeout=entry.timeout_seconds,
            result_ttl=3600,
        )
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restosync scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=POLL_SECONDS, help="seconds between polls")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    def stop_before_running(signum: int, frame: object) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):  # rq-scheduler installs its own once it runs
        signal.signal(sig, stop_before_running)
    connection = make_sync_redis(settings.redis_url)
    scheduler = PrefixedScheduler(settings.redis_prefix, connection, interval=args.interval)
    try:
        names = register(scheduler, settings)
        log.info("scheduler started with %d cron entr(ies): %s", len(names), ", ".join(names))
        scheduler.run()
    except SystemExit:
        pass  # rq-scheduler's SIGTERM/SIGINT handler: it has released its lock and registered its death
    finally:
        connection.close()
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
