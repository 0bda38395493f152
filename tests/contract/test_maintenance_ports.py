"""Contract of the maintenance ports: retention deletes, task runs, the undelivered-job and backlog reads,
and alert de-duplication; each sentence holds for the fake and for PostgreSQL / Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from restosync_adapters.alerts import RedisAlertThrottle
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.retention import PgRetentionStore, PgTaskRuns
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_adapters.redis.clients import make_async_redis
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId
from restosync_core.model.orders import SyncJobStatus
from restosync_core.policies import retry
from restosync_core.ports.alerts import AlertThrottle
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.ports.task_runs import TaskRuns
from restosync_core.ports.unit_of_work import UnitOfWork
from tests.conftest import REDIS_URL
from tests.contract.conftest import T0
from tests.contract.test_order_repositories import V1, V2, a_job, an_order, at
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWork
from tests.fakes.maintenance import FakeAlertThrottle, FakeReconciliationEvent, FakeRetentionStore, FakeTaskRuns

pytestmark = pytest.mark.anyio


@dataclass
class Maintenance:
    name: str
    uow: Callable[..., UnitOfWork]
    retention: RetentionStore
    task_runs: TaskRuns
    add_event: Callable[[VendorId, Any], Awaitable[None]]
    events: Callable[[], Awaitable[int]]


@pytest.fixture(params=["fake", "postgres"])
async def maint(request: pytest.FixtureRequest) -> AsyncIterator[Maintenance]:
    if request.param == "fake":
        db = FakeDatabase()

        async def add_fake(vendor: VendorId, created_at: Any) -> None:
            db.table("reconciliation_events")[uuid.uuid4()] = FakeReconciliationEvent(vendor, created_at)

        async def count_fake() -> int:
            return len(db.table("reconciliation_events"))

        yield Maintenance(
            "fake", partial(FakeUnitOfWork, db), FakeRetentionStore(db), FakeTaskRuns(db), add_fake, count_fake
        )
        return
    pool = make_pool(request.getfixturevalue("clean_db"), max_size=3)
    await pool.open()

    async def add_pg(vendor: VendorId, created_at: Any) -> None:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO reconciliation_events (vendor_id, event_type, entity, created_at) "
                "VALUES (%s, 'drift_check', 'items', %s)",
                (vendor, created_at),
            )

    async def count_pg() -> int:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM reconciliation_events")).fetchone()
        return int(row["count"])

    try:
        yield Maintenance(
            "postgres", partial(PgUnitOfWork, pool), PgRetentionStore(pool), PgTaskRuns(pool), add_pg, count_pg
        )
    finally:
        await pool.close()


async def test_overdue_unfinished_jobs_are_the_old_pending_and_sent_ones_and_expired_claims_oldest_first(
    maint: Maintenance,
) -> None:
    order = an_order()
    old_pending = a_job(order, created_s=0)
    old_sent = replace(a_job(order, created_s=10), status=SyncJobStatus.SENT)
    young = a_job(order, created_s=100)
    live = replace(a_job(order, created_s=1), status=SyncJobStatus.PROCESSING, claimed_until=at(500))
    expired = replace(a_job(order, created_s=2), status=SyncJobStatus.PROCESSING, claimed_until=at(50))
    done = a_job(order, created_s=3, status=SyncJobStatus.COMPLETED)
    async with maint.uow() as uow:
        await uow.orders.add(order)
        for job in (old_pending, old_sent, young, live, expired, done):
            await uow.sync_jobs.add(job)
        for job in (live, expired, old_sent):
            await uow.sync_jobs.save(job)
    async with maint.uow() as uow:
        overdue = await uow.sync_jobs.overdue_unfinished(at(100), at(60), 10)
        assert [j.id for j in overdue] == [old_pending.id, expired.id, old_sent.id]
        assert [j.id for j in await uow.sync_jobs.overdue_unfinished(at(100), at(60), 2)] == [
            old_pending.id,
            expired.id,
        ]


async def test_a_job_retried_from_its_dead_letter_is_aged_from_the_retry(maint: Maintenance) -> None:
    order = an_order()
    job = a_job(order, created_s=0)
    async with maint.uow() as uow:
        await uow.orders.add(order)
        await uow.sync_jobs.add(job)
        letter = await uow.dead_letters.add(retry.dead(job, at(5)), at(5))
        await uow.dead_letters.save(replace(letter, retry_count=1, last_retried_at=at(90)))
    async with maint.uow() as uow:
        assert await uow.sync_jobs.overdue_unfinished(at(80), at(80), 10) == []
        assert [j.id for j in await uow.sync_jobs.overdue_unfinished(at(91), at(91), 10)] == [job.id]


async def test_the_unresolved_backlog_is_counted_per_vendor_with_its_oldest_letter(maint: Maintenance) -> None:
    order = an_order()
    jobs = [a_job(order), a_job(order), replace(a_job(order), vendor_id=V2), replace(a_job(order), vendor_id=V2)]
    async with maint.uow() as uow:
        await uow.orders.add(order)
        letters = []
        for i, job in enumerate(jobs):
            await uow.sync_jobs.add(job)
            letters.append(await uow.dead_letters.add(job, at(10 * i)))
        await uow.dead_letters.save(replace(letters[2], resolved=True, resolved_at=at(99)))
    async with maint.uow() as uow:
        backlog = await uow.dead_letters.unresolved_by_vendor()
    assert [(b.vendor_id, b.count, b.oldest_at) for b in backlog] == [(V1, 2, at(0)), (V2, 1, at(30))]


async def test_a_saved_letter_can_point_at_another_job(maint: Maintenance) -> None:
    order = an_order()
    first, second = a_job(order), a_job(order)
    async with maint.uow() as uow:
        await uow.orders.add(order)
        await uow.sync_jobs.add(first)
        await uow.sync_jobs.add(second)
        letter = await uow.dead_letters.add(first, at(1))
        await uow.dead_letters.save(replace(letter, sync_job_id=second.id))
    async with maint.uow() as uow:
        stored = await uow.dead_letters.get(letter.id)
    assert stored is not None and stored.sync_job_id == second.id


async def test_retention_deletes_strictly_older_rows_at_most_a_chunk_at_a_time(maint: Maintenance) -> None:
    order = an_order()
    completed = [
        retry.completed(a_job(order), at(s), f"ERP-{s}") for s in (0, 1, 2, 100)
    ]  # completed at 0, 1, 2 and 100
    failed = retry.dead(a_job(order), at(3))
    async with maint.uow() as uow:
        await uow.orders.add(order)
        for job in (*completed, failed):
            await uow.sync_jobs.add(job)
            await uow.sync_jobs.save(job)
        letter = await uow.dead_letters.add(failed, at(3))
    assert await maint.retention.delete_chunk(Expiring.COMPLETED_SYNC_JOBS, at(2), 1) == 1
    assert await maint.retention.delete_chunk(Expiring.COMPLETED_SYNC_JOBS, at(2), 10) == 1
    assert await maint.retention.delete_chunk(Expiring.COMPLETED_SYNC_JOBS, at(2), 10) == 0, "at(2) is not before"
    assert await maint.retention.delete_chunk(Expiring.FAILED_SYNC_JOBS, at(3), 10) == 0
    assert await maint.retention.delete_chunk(Expiring.FAILED_SYNC_JOBS, at(4), 10) == 1
    async with maint.uow() as uow:
        assert await uow.sync_jobs.get(completed[2].id) is not None
        assert await uow.sync_jobs.get(completed[3].id) is not None
        assert await uow.sync_jobs.get(failed.id) is None
        kept = await uow.dead_letters.get(letter.id)
    assert kept is not None and kept.sync_job_id is None and not kept.resolved, "the letter outlives its job"
    assert await maint.retention.delete_chunk(Expiring.RESOLVED_DEAD_LETTERS, at(10_000), 10) == 0, "unresolved"
    async with maint.uow() as uow:
        await uow.dead_letters.save(replace(kept, resolved=True, resolved_at=at(7)))
    assert await maint.retention.delete_chunk(Expiring.RESOLVED_DEAD_LETTERS, at(7), 10) == 0
    assert await maint.retention.delete_chunk(Expiring.RESOLVED_DEAD_LETTERS, at(8), 10) == 1


async def test_reconciliation_events_and_task_runs_expire_by_their_own_times(maint: Maintenance) -> None:
    for s in (0, 1, 5):
        await maint.add_event(V1, at(s))
    assert await maint.retention.delete_chunk(Expiring.RECONCILIATION_EVENTS, at(5), 10) == 2
    assert await maint.events() == 1
    assert await maint.task_runs.claim("t", at(0), at(0))
    assert await maint.task_runs.claim("t", at(60), at(60))
    assert await maint.retention.delete_chunk(Expiring.TASK_RUNS, at(60), 10) == 1
    assert not await maint.task_runs.claim("t", at(60), at(61)), "the kept run still holds its tick"


async def test_a_tick_is_claimed_once_per_task_and_its_end_recorded(maint: Maintenance) -> None:
    assert await maint.task_runs.claim("sweep", at(0), at(0))
    assert not await maint.task_runs.claim("sweep", at(0), at(1))
    assert await maint.task_runs.claim("health", at(0), at(1)), "another task, same tick"
    assert await maint.task_runs.claim("sweep", at(60), at(60)), "the next tick"
    await maint.task_runs.finish("sweep", at(0), at(2), ok=False, detail="RuntimeError('x')")
    assert not await maint.task_runs.claim("sweep", at(0), at(3)), "a failed tick is not run again"


@pytest.fixture(params=["fake", "redis"])
async def throttle(request: pytest.FixtureRequest) -> AsyncIterator[tuple[AlertThrottle, AlertThrottle]]:
    """Two throttles over one store: two processes."""
    if request.param == "fake":
        fake = FakeAlertThrottle(FakeClock(T0 + timedelta(days=1)))
        yield fake, fake
        return
    prefix: str = request.getfixturevalue("redis_ns")
    clients = [make_async_redis(REDIS_URL), make_async_redis(REDIS_URL)]
    try:
        yield RedisAlertThrottle(clients[0], prefix), RedisAlertThrottle(clients[1], prefix)
    finally:
        for client in clients:
            await client.aclose()


async def test_a_key_is_first_in_its_window_once_across_processes(
    throttle: tuple[AlertThrottle, AlertThrottle],
) -> None:
    one, other = throttle
    assert await one.first_in_window(["a:1", "b:1"], 3600) == {"a:1", "b:1"}
    assert await other.first_in_window(["a:1", "c:1"], 3600) == {"c:1"}
    assert await one.first_in_window(["a:1", "b:1", "c:1"], 3600) == set()
    assert await one.first_in_window([], 3600) == set()


async def test_a_redis_throttle_that_cannot_reach_redis_says_so() -> None:
    client = make_async_redis("redis://127.0.0.1:9/0", socket_timeout=0.5)
    try:
        with pytest.raises(DependencyUnavailable):
            await RedisAlertThrottle(client, "nowhere").first_in_window(["a"], 60)
    finally:
        await client.aclose()
