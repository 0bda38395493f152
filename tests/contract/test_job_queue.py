"""Contract of the JobQueue: one wake-up per (job, due time), at once when due, later when not; down is transient."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest
from rq.job import JobStatus

from restosync_adapters.redis.clients import make_sync_redis
from restosync_adapters.rq_queue import JsonJob, RqJobQueue, wake_id
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import SyncJobId
from restosync_core.ports.queue import JobQueue
from tests.conftest import REDIS_URL
from tests.fakes.orders import FakeJobQueue

pytestmark = pytest.mark.anyio

Wake = tuple[SyncJobId, datetime]


class Inspect(Protocol):
    def __call__(self, wakes: list[Wake]) -> tuple[set[Wake], set[Wake]]: ...


@dataclass
class Queues:
    queue: JobQueue
    down: JobQueue
    """The same kind of queue, with its store unreachable."""
    where: Inspect
    """Which of ``wakes`` are ready to run now, and which wait for their time."""
    run: Callable[[Wake], None]
    """A worker takes the wake-up and finishes it."""


@pytest.fixture(params=["fake", "rq"])
def queues(request: pytest.FixtureRequest) -> Iterator[Queues]:
    if request.param == "fake":
        fake = FakeJobQueue()

        def fake_where(wakes: list[Wake]) -> tuple[set[Wake], set[Wake]]:
            now = datetime.now(UTC)
            held = [w for w in wakes if w in fake.wakes]
            return {w for w in held if w[1] <= now}, {w for w in held if w[1] > now}

        def fake_run(wake: Wake) -> None:
            fake.wakes.discard(wake)

        yield Queues(fake, FakeJobQueue(down=True), fake_where, fake_run)
        return
    prefix: str = request.getfixturevalue("redis_ns")
    real = RqJobQueue(make_sync_redis(REDIS_URL), prefix, job_timeout_seconds=60)
    unreachable = RqJobQueue(make_sync_redis("redis://127.0.0.1:1/0"), prefix, job_timeout_seconds=60)

    def rq_where(wakes: list[Wake]) -> tuple[set[Wake], set[Wake]]:
        queued = set(real.queue.job_ids)
        scheduled = set(real.queue.scheduled_job_registry.get_job_ids())
        return (
            {w for w in wakes if wake_id(prefix, *w) in queued},
            {w for w in wakes if wake_id(prefix, *w) in scheduled},
        )

    def rq_run(wake: Wake) -> None:  # as a worker does, in RQ's own terms
        rq_id = wake_id(prefix, *wake)
        real.queue.remove(rq_id)
        JsonJob.fetch(rq_id, connection=real.connection).set_status(JobStatus.FINISHED)

    try:
        yield Queues(real, unreachable, rq_where, rq_run)
    finally:
        real.connection.close()
        unreachable.connection.close()


def job() -> SyncJobId:
    return SyncJobId(uuid.uuid4())


async def test_a_due_wake_up_is_queued_at_once_and_a_later_one_waits_for_its_time(queues: Queues) -> None:
    now = datetime.now(UTC)
    due: Wake = (job(), now - timedelta(hours=1))
    later: Wake = (job(), now + timedelta(hours=1))

    assert await queues.queue.wake_delivery(*due) is True
    assert await queues.queue.wake_delivery(*later) is True

    assert queues.where([due, later]) == ({due}, {later})


async def test_the_same_wake_up_twice_is_queued_once(queues: Queues) -> None:
    now = datetime.now(UTC)
    due: Wake = (job(), now - timedelta(minutes=1))
    later: Wake = (job(), now + timedelta(hours=1))
    for wake in (due, later):
        await queues.queue.wake_delivery(*wake)

    assert await queues.queue.wake_delivery(*due) is False
    assert await queues.queue.wake_delivery(*later) is False
    assert queues.where([due, later]) == ({due}, {later})


async def test_the_same_job_due_at_another_time_is_another_wake_up(queues: Queues) -> None:
    job_id, now = job(), datetime.now(UTC)
    first: Wake = (job_id, now - timedelta(minutes=2))
    second: Wake = (job_id, now - timedelta(minutes=1))

    assert await queues.queue.wake_delivery(*first) is True
    assert await queues.queue.wake_delivery(*second) is True
    assert queues.where([first, second]) == ({first, second}, set())


async def test_a_queue_that_cannot_be_reached_raises_dependency_unavailable(queues: Queues) -> None:
    with pytest.raises(DependencyUnavailable):
        await queues.down.wake_delivery(job(), datetime.now(UTC))


async def test_a_wake_up_that_has_run_does_not_keep_the_same_one_from_being_queued_again(queues: Queues) -> None:
    wake: Wake = (job(), datetime.now(UTC) - timedelta(minutes=1))
    await queues.queue.wake_delivery(*wake)
    queues.run(wake)  # it ran, and met an outage: the job is due again at the same time

    assert await queues.queue.wake_delivery(*wake) is True
    assert queues.where([wake]) == ({wake}, set())
