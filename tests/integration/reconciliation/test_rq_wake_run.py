"""The RQ wake-up of a reconciliation run: its own queue, once per run, refused while Redis is down; the job."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from types import FrameType
from urllib.parse import urlsplit

import pytest
from rq.job import JobStatus
from rq.timeouts import JobTimeoutException

from restosync_adapters.queues import ORDER_SYNC, RECONCILIATION, rq_queue_name
from restosync_adapters.redis.clients import make_sync_redis
from restosync_adapters.rq_queue import (
    FAILURE_TTL_SECONDS,
    RECONCILE_FUNC,
    RESULT_TTL_SECONDS,
    JsonJob,
    RqReconciliationQueue,
    make_queue,
    run_wake_id,
)
from restosync_adapters.settings import Settings
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.reconciliation import RunId
from restosync_worker import jobs, runtime
from restosync_worker.worker import RestosyncWorker
from tests.conftest import REDIS_URL
from tests.tcp_proxy import TcpProxy


def test_a_run_is_woken_on_the_reconciliation_queue_with_its_function_id_and_timeout(redis_ns: str) -> None:
    connection = make_sync_redis(REDIS_URL)
    queue = RqReconciliationQueue(connection, redis_ns, job_timeout_seconds=1234)
    run_id = RunId(uuid.uuid4())
    try:
        assert asyncio.run(queue.wake_run(run_id)) is True
        rq_id = run_wake_id(redis_ns, run_id)
        assert rq_id == f"{redis_ns}-reconcile-{run_id}"
        assert queue.queue.name == rq_queue_name(redis_ns, RECONCILIATION)
        assert queue.queue.job_ids == [rq_id]
        assert make_queue(connection, redis_ns, ORDER_SYNC).job_ids == [], "never on the order queue"
        job = JsonJob.fetch(rq_id, connection=connection)
        assert job.func_name == RECONCILE_FUNC == "restosync_worker.jobs.reconcile"
        assert job.args == [str(run_id)]  # JSON: ids only
        assert job.timeout == 1234
        assert job.result_ttl == RESULT_TTL_SECONDS
        assert job.failure_ttl == FAILURE_TTL_SECONDS
        assert job.origin == rq_queue_name(redis_ns, RECONCILIATION)
    finally:
        connection.close()


def test_waking_a_run_twice_queues_it_once_and_a_finished_wake_up_is_replaced(redis_ns: str) -> None:
    connection = make_sync_redis(REDIS_URL)
    queue = RqReconciliationQueue(connection, redis_ns, job_timeout_seconds=60)
    run_id, other = RunId(uuid.uuid4()), RunId(uuid.uuid4())
    rq_id = run_wake_id(redis_ns, run_id)
    try:
        assert queue.wake_run_now(run_id) is True
        assert queue.wake_run_now(run_id) is False, "already queued"
        assert queue.queue.job_ids == [rq_id]

        queue.queue.remove(rq_id)  # a worker took it ...
        job = JsonJob.fetch(rq_id, connection=connection)
        job.set_status(JobStatus.STARTED)
        assert queue.wake_run_now(run_id) is False, "... and while it runs, it is not queued again"

        job.set_status(JobStatus.FINISHED)
        assert queue.wake_run_now(run_id) is True, "a finished wake-up does not block the same run"
        assert JsonJob.fetch(rq_id, connection=connection).get_status() == JobStatus.QUEUED
        assert queue.wake_run_now(other) is True, "another run has its own wake-up"
        assert queue.queue.job_ids == [rq_id, run_wake_id(redis_ns, other)]
    finally:
        connection.close()


def test_redis_down_is_dependency_unavailable_logged_once_and_its_end_once(
    redis_ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(REDIS_URL).port or 6379).start()
    connection = make_sync_redis(f"redis://127.0.0.1:{proxy.port}/0")
    queue = RqReconciliationQueue(connection, redis_ns, job_timeout_seconds=60)
    caplog.set_level(logging.INFO, logger="restosync_adapters.rq_queue")
    try:
        assert queue.wake_run_now(RunId(uuid.uuid4())) is True
        proxy.stop()
        for _ in range(2):
            with pytest.raises(DependencyUnavailable):
                asyncio.run(queue.wake_run(RunId(uuid.uuid4())))
        proxy.start()
        assert queue.wake_run_now(RunId(uuid.uuid4())) is True
    finally:
        connection.close()
        proxy.stop()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "reconciliation queue" in lines[0][1] and "unavailable" in lines[0][1]
    assert "back after" in lines[1][1]


def test_a_reconciliation_worker_runs_the_wake_up_and_one_for_no_such_run_is_not_claimed(settings: Settings) -> None:
    rt = runtime.start(settings)
    try:
        queue = rt.services.reconciliation_queue
        run_id = RunId(uuid.uuid4())
        assert rt.run(queue.wake_run(run_id)) is True
        connection = rt.services.sync_redis
        name = rq_queue_name(settings.redis_prefix, RECONCILIATION)
        RestosyncWorker([name], connection=connection).work(burst=True)
        job = JsonJob.fetch(run_wake_id(settings.redis_prefix, run_id), connection=connection)
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == "not_claimed"
    finally:
        runtime.stop()


def test_a_job_timeout_cancels_the_run_instead_of_leaving_it_on_the_loop(settings: Settings) -> None:
    """RQ's timeout is an alarm whose exception may surface in the loop's select, outside the coroutine."""
    cancelled = []

    async def long_run() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "completed"

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise JobTimeoutException("timed out")

    runtime.start(settings)
    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(JobTimeoutException):
            jobs._run_to_the_end(long_run())
        assert cancelled == [True]
        left = [t for t in asyncio.all_tasks(runtime.current().loop) if t.get_coro().__name__ == "long_run"]
        assert left == [], "nothing of it left to run during the next job"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        runtime.stop()
