"""Two schedulers side by side on real Redis and PostgreSQL: every task runs once per tick, not twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
import redis

from restosync_adapters.bootstrap import RECONCILIATION, Services, rq_queue_name
from restosync_adapters.settings import Settings
from restosync_worker import cron, scheduler
from restosync_worker.cron import CRON_ENTRIES, CronEntry
from restosync_worker.worker import JsonQueue
from tests.conftest import REDIS_URL, make_settings
from tests.integration.orders.conftest import Worker
from tests.waiting import wait_until

EVERY_SECOND = "* * * * * * *"  # rq-scheduler's seven fields: seconds first
SCHEDULES = {
    "SWEEP_CRON": EVERY_SECOND,
    "DRIFT_DETECTION_CRON": EVERY_SECOND,
    "AGENT_HEALTH_CRON": EVERY_SECOND,
    "DLQ_ALERT_CRON": EVERY_SECOND,
    "JOB_CLEANUP_CRON": EVERY_SECOND,
    "RECONCILIATION_ARCHIVE_CRON": EVERY_SECOND,
    "DLQ_CLEANUP_CRON": EVERY_SECOND,
}


@pytest.fixture
def every_second(clean_db: str, redis_ns: str) -> Settings:
    return make_settings(clean_db, redis_ns, RATE_LIMITS_ENABLED="false", **SCHEDULES)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each task's body ran (the worker runs in this process)."""
    counted: Counter[str] = Counter()

    def counting(entry: CronEntry) -> CronEntry:
        async def task(services: Services) -> object:
            counted[entry.name] += 1
            return await entry.task(services)

        return CronEntry(entry.name, entry.schedule, task, entry.queue, entry.timeout_seconds)

    monkeypatch.setattr(cron, "BY_NAME", {e.name: counting(e) for e in CRON_ENTRIES})
    return counted


@pytest.fixture
def worker(every_second: Settings) -> Iterator[Worker]:
    w = Worker(every_second)
    yield w
    w.close()


def test_two_schedulers_running_side_by_side_run_each_task_once_per_tick(
    every_second: Settings, worker: Worker, runs: Counter[str]
) -> None:
    stops = [threading.Event(), threading.Event()]
    connections = [redis.Redis.from_url(REDIS_URL), redis.Redis.from_url(REDIS_URL)]
    threads = [
        threading.Thread(target=scheduler.run, args=(conn, every_second, 0.2, stop), daemon=True)
        for conn, stop in zip(connections, stops, strict=True)
    ]
    for t in threads:
        t.start()
    try:
        wait_until(
            lambda: len(list(connections[0].scan_iter(f"{every_second.redis_prefix}:rq-scheduler-instance:*"))) == 2,
            10,
            "both schedulers to be up",
        )

        def every_task_ran_three_ticks() -> bool:
            worker.burst()
            return all(runs[e.name] >= 3 for e in CRON_ENTRIES)

        wait_until(every_task_ran_three_ticks, 60, "every task to run for three ticks")
    finally:
        for stop in stops:
            stop.set()
        for t in threads:
            t.join(10)
        for conn in connections:
            conn.close()
    with psycopg.connect(every_second.database_url) as conn:
        recorded = conn.execute("SELECT task, tick, status FROM task_runs").fetchall()
    ticks = Counter(task for task, _, _ in recorded)  # one row per (task, tick): the table's primary key
    assert runs == ticks, "a task's body ran more often than it had distinct ticks"
    assert {status for _, _, status in recorded} == {"done"}


def test_a_tick_fired_twice_runs_once_and_the_second_wake_up_is_skipped(
    every_second: Settings, worker: Worker, runs: Counter[str]
) -> None:
    """What two schedulers (or a backlog) firing the same tick leave in RQ: the same cron job queued twice."""
    queue = JsonQueue(rq_queue_name(every_second.redis_prefix, RECONCILIATION), connection=worker.connection)
    name = "cleanup-resolved-dead-letters"
    worker.services.settings = replace(every_second, dlq_cleanup_cron="0 4 * * 6")  # a weekly tick
    jobs = [queue.enqueue(scheduler.CRON_FUNC, name) for _ in range(2)]
    worker.burst()
    assert [job.return_value() for job in jobs] == ["0 resolved dead letters removed", "skipped"]
    assert sum(runs.values()) == 1
