"""The RQ wake-ups: one per (sync job, due time), and a finished one never blocks the same wake-up again."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rq.job import JobStatus

from restosync_adapters.redis.clients import make_sync_redis
from restosync_adapters.rq_queue import RESULT_TTL_SECONDS, JsonJob, RqJobQueue, wake_id
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import SyncJobId
from tests.conftest import REDIS_URL
from tests.tcp_proxy import TcpProxy


def test_a_wake_up_is_queued_once_blocks_itself_while_running_and_not_once_finished(redis_ns: str) -> None:
    connection = make_sync_redis(REDIS_URL)
    queue = RqJobQueue(connection, redis_ns, job_timeout_seconds=30)
    job_id = SyncJobId(uuid.uuid4())
    due = datetime.now(UTC) - timedelta(seconds=1)
    rq_id = wake_id(redis_ns, job_id, due)
    try:
        assert queue.wake_delivery_now(job_id, due) is True
        assert JsonJob.fetch(rq_id, connection=queue.connection).result_ttl == RESULT_TTL_SECONDS
        assert queue.wake_delivery_now(job_id, due) is False, "the same wake-up is already queued"

        queue.queue.remove(rq_id)  # a worker took it ...
        job = JsonJob.fetch(rq_id, connection=queue.connection)
        job.set_status(JobStatus.STARTED)
        assert queue.wake_delivery_now(job_id, due) is False, "... and while it runs, it is not queued again"

        job.set_status(JobStatus.FINISHED)  # it ended; RQ keeps it RESULT_TTL_SECONDS
        assert queue.wake_delivery_now(job_id, due) is True, "a finished wake-up does not block the same one"
        assert JsonJob.fetch(rq_id, connection=queue.connection).get_status() == JobStatus.QUEUED
        assert queue.queue.job_ids == [rq_id]
        assert queue.wake_delivery_now(job_id, due) is False
    finally:
        connection.close()


def test_an_outage_of_the_queue_is_logged_once_and_its_end_once(
    redis_ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(REDIS_URL).port or 6379).start()
    connection = make_sync_redis(f"redis://127.0.0.1:{proxy.port}/0")
    queue = RqJobQueue(connection, redis_ns, job_timeout_seconds=30)
    due = datetime.now(UTC) - timedelta(seconds=1)
    caplog.set_level(logging.INFO, logger="restosync_adapters.rq_queue")
    try:
        assert queue.wake_delivery_now(SyncJobId(uuid.uuid4()), due) is True
        proxy.stop()
        for _ in range(3):  # three orders placed while Redis is away
            with pytest.raises(DependencyUnavailable):
                queue.wake_delivery_now(SyncJobId(uuid.uuid4()), due)
        proxy.start()
        assert queue.wake_delivery_now(SyncJobId(uuid.uuid4()), due) is True
        assert queue.wake_delivery_now(SyncJobId(uuid.uuid4()), due) is True
    finally:
        connection.close()
        proxy.stop()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "unavailable" in lines[0][1] and "back after" in lines[1][1]


def test_a_wake_up_whose_worker_died_before_claiming_is_replaced_once_a_claim_would_have_ended(
    redis_ns: str,
) -> None:
    """A worker killed between taking a wake-up and claiming its job leaves it "started" in RQ (for as long
    as RQ's job timeout and registry cleanup take): past a claim's length, the same wake-up is queued again."""
    connection = make_sync_redis(REDIS_URL)
    queue = RqJobQueue(connection, redis_ns, job_timeout_seconds=30, stale_after_seconds=5)
    job_id = SyncJobId(uuid.uuid4())
    due = datetime.now(UTC) - timedelta(seconds=30)
    rq_id = wake_id(redis_ns, job_id, due)
    try:
        assert queue.wake_delivery_now(job_id, due) is True
        queue.queue.remove(rq_id)  # a worker took it ...
        job = JsonJob.fetch(rq_id, connection=queue.connection)
        job.started_at = datetime.now(UTC) - timedelta(seconds=4)
        job.set_status(JobStatus.STARTED)
        job.save()
        assert queue.wake_delivery_now(job_id, due) is False, "started 4 s ago: it may be claiming right now"

        job.started_at = datetime.now(UTC) - timedelta(seconds=6)  # ... and died before claiming
        job.save()
        assert queue.wake_delivery_now(job_id, due) is True, "started longer ago than a claim lasts: replaced"
        assert queue.queue.job_ids == [rq_id]
        assert JsonJob.fetch(rq_id, connection=queue.connection).get_status() == JobStatus.QUEUED
    finally:
        connection.close()
