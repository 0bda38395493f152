"""``python -m restosync_worker.scheduler``: registers the cron table with rq-scheduler and runs it.

Registration is idempotent (each entry has a fixed RQ job id), so a restart
neither duplicates nor loses entries; entries no longer in the table are
cancelled. rq-scheduler keeps a lock so one scheduler enqueues at a time, and
each task body takes a PostgreSQL advisory lock besides (``cron.run_task``).
A Redis outage does not end it: it retries with capped backoff (one log line
when Redis goes, one when it is back), then registers again whatever entries
Redis lost. SIGTERM/SIGINT stop it within a second or so.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
import time
from typing import Any

import redis
from redis import Redis
from rq_scheduler import Scheduler

from restosync_adapters.bootstrap import JsonJob, bootstrap, rq_queue_name
from restosync_adapters.lifecycle import watch_parent
from restosync_adapters.logging import Outage, configure_logging
from restosync_adapters.settings import Settings
from restosync_worker.cron import CRON_ENTRIES
from restosync_worker.reconnect import Backoff
from restosync_worker.worker import JsonQueue

log = logging.getLogger("restosync_worker.scheduler")

CRON_FUNC = "restosync_worker.jobs.run_cron_task"
POLL_SECONDS = 10
RECONNECT_CAP_SECONDS = 5.0
"""While Redis is down, try again at most this long apart (0.5 s, 1 s, 2 s ... 5 s)."""


class PrefixedScheduler(Scheduler):  # type: ignore[misc]  # rq-scheduler ships no type information
    """rq-scheduler with every key under ``REDIS_PREFIX`` and JSON-serialised jobs."""

    def __init__(self, prefix: str, connection: Redis, **kwargs: Any) -> None:
        self.scheduler_key = f"{prefix}:rq-scheduler"
        self.scheduler_lock_key = f"{prefix}:rq-scheduler-lock"
        self.scheduled_jobs_key = f"{prefix}:rq-scheduler:scheduled_jobs"
        self.redis_scheduler_namespace_prefix = f"{prefix}:rq-scheduler-instance:"
        super().__init__(connection=connection, job_class=JsonJob, queue_class=JsonQueue, **kwargs)


def cron_job_id(prefix: str, name: str) -> str:
    return f"{prefix}-cron-{name}"


def register(scheduler: Scheduler, settings: Settings, *, only_missing: bool = False) -> list[str]:
    """Put every entry of the cron table in the scheduler; cancel our entries that left the table.

    ``only_missing``: only put back the entries Redis lost, leaving the others alone
    (registering one again moves its next run to the next tick, skipping one that is due now).
    Answers the ids registered.
    """
    prefix = settings.redis_prefix
    wanted = {cron_job_id(prefix, e.name) for e in CRON_ENTRIES}
    if not only_missing:
        for job in scheduler.get_jobs():
            if job.id.startswith(f"{prefix}-cron-") and job.id not in wanted:
                scheduler.cancel(job)
                log.info("cancelled the cron entry %s (no longer in the table)", job.id)
    registered = []
    for entry in CRON_ENTRIES:
        job_id = cron_job_id(prefix, entry.name)
        if only_missing and job_id in scheduler:
            continue
        scheduler.cron(
            entry.schedule(settings),
            func=CRON_FUNC,
            args=[entry.name],
            id=job_id,
            queue_name=rq_queue_name(prefix, entry.queue),
            timeout=entry.timeout_seconds,
            result_ttl=3600,
        )
        registered.append(job_id)
    return registered


def run(connection: Redis, settings: Settings, interval: float, stop: threading.Event) -> None:
    """Poll rq-scheduler every ``interval`` seconds until ``stop``, riding out Redis outages.

    rq-scheduler's own ``run()`` ends (and the process with it) at the first Redis
    error; this loop drives the same public steps (birth, lock, enqueue, heartbeat)
    and, after an outage, starts again as a new scheduler instance. Every poll puts
    back any cron entry Redis lost (a Redis restart without persistence loses them
    all, and one between two polls is never seen as an outage).
    """
    outage = Outage(log, "Redis")
    backoff = Backoff(initial=0.5, cap=RECONNECT_CAP_SECONDS)
    scheduler: PrefixedScheduler | None = None
    registered_once = False
    while not stop.is_set():
        started = time.monotonic()
        try:
            if scheduler is None:
                connection.ping()  # while Redis is down, fail here: rq-scheduler logs its birth at every try
                scheduler = PrefixedScheduler(settings.redis_prefix, connection, interval=interval)
                scheduler.register_birth()
                if not registered_once:
                    names = register(scheduler, settings)
                    log.info("scheduler started with %d cron entr(ies): %s", len(names), ", ".join(names))
                    registered_once = True
            if lost := register(scheduler, settings, only_missing=True):
                log.warning("Redis had lost cron entries (restarted?); registered them again: %s", ", ".join(lost))
            outage.recovered()
            backoff.reset()
            _tick(scheduler)
            delay = max(0.0, interval - (time.monotonic() - started))
        except redis.RedisError as exc:
            outage.failed(exc, "the cron table is checked again once it is back")
            scheduler = None  # RQ names a scheduler once: after the outage a new one starts
            delay = backoff.next()
        stop.wait(delay)
    if scheduler is not None:
        with contextlib.suppress(redis.RedisError):
            scheduler.remove_lock()
            scheduler.register_death()


def _tick(scheduler: PrefixedScheduler) -> None:
    """One poll: queue every due entry (under rq-scheduler's lock, so one scheduler at a time)."""
    scheduler.heartbeat()
    if scheduler.acquire_lock():
        try:
            scheduler.enqueue_jobs()
        finally:
            scheduler.remove_lock()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restosync scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=POLL_SECONDS, help="seconds between polls")
    args = parser.parse_args(argv)
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping (signal %s)", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    watch_parent()  # under `restosync run`: stop if it dies
    connection = bootstrap(settings).sync_redis  # the scheduler needs only this; nothing else is started
    try:
        run(connection, settings, args.interval, stop)
    finally:
        connection.close()
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
