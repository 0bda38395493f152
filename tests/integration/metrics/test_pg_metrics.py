"""The metrics adapters over real PostgreSQL: exact counts and percentiles on known rows, one write per push."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import pytest

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.postgres.metrics import CoalescedIngestCounter, PgIngestCounter
from restosync_adapters.settings import Settings
from restosync_core.model.ids import VendorId
from restosync_core.model.metrics import ALL_ROWS, IngestCount, IngestEntity, OutcomeCount, Percentiles
from restosync_core.model.orders import SyncJobStatus
from restosync_core.ports.retention import Expiring
from tests.fakes import FakeClock

T = TypeVar("T")
NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
V = VendorId("vendor-m")


def run(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    async def scenario() -> T:
        services = bootstrap(settings, clock=FakeClock(NOW))
        await services.start()
        try:
            return await use(services)
        finally:
            await services.stop()

    return asyncio.run(scenario())


def insert_job(conn: psycopg.Connection[Any], *, vendor: str = V, status: str, created: timedelta,
               attempts: int = 1, sent: float | None = None, completed: float | None = None,
               job_type: str = "create-order") -> None:
    """A job created ``created`` before NOW, sent / completed that many ms after it was created."""
    at = NOW - created
    conn.execute(
        "INSERT INTO sync_jobs (vendor_id, job_type, status, payload, attempts, created_at, updated_at, sent_at, "
        "completed_at) VALUES (%s, %s, %s, '{}', %s, %s, %s, %s, %s)",
        (vendor, job_type, status, attempts, at, at,
         None if sent is None else at + timedelta(milliseconds=sent),
         None if completed is None else at + timedelta(milliseconds=completed)),
    )


def test_deliveries_are_counted_by_status_with_retries_and_exact_percentiles(settings: Settings) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for i, ms in enumerate((1000, 2000, 3000, 4000, 10000)):  # completed: callback latencies known
            insert_job(conn, status="completed", created=timedelta(minutes=10 + i), sent=ms / 10, completed=ms,
                       attempts=2 if i == 0 else 1)
        insert_job(conn, status="failed", created=timedelta(minutes=20), attempts=5)
        insert_job(conn, status="sent", created=timedelta(minutes=21), sent=600)
        insert_job(conn, status="pending", created=timedelta(minutes=22), attempts=3)
        insert_job(conn, status="processing", created=timedelta(minutes=23))
        insert_job(conn, status="completed", created=timedelta(hours=2), sent=1, completed=99_000)  # before 1 h
        insert_job(conn, vendor="other", status="completed", created=timedelta(minutes=5), sent=1, completed=5)
        insert_job(conn, status="pending", created=timedelta(minutes=5), job_type="image-sync")  # not an order

    figures = run(settings, lambda s: s.sync_metrics.deliveries(V, NOW - timedelta(hours=1)))

    assert dict(figures.by_status) == {SyncJobStatus.PENDING: 1, SyncJobStatus.PROCESSING: 1, SyncJobStatus.SENT: 1,
                                       SyncJobStatus.COMPLETED: 5, SyncJobStatus.FAILED: 1}
    assert (figures.total, figures.pending, figures.retried) == (9, 3, 3)
    assert figures.avg_callback_ms == pytest.approx(4000)
    # percentile_cont over 1000, 2000, 3000, 4000, 10000: p95 = 4000 + 0.8 * 6000, p99 = 4000 + 0.96 * 6000
    assert figures.to_callback == Percentiles(5, pytest.approx(3000), pytest.approx(8800), pytest.approx(9760))
    # sent: 100, 200, 300, 400, 1000 (the completed ones) and 600 (the sent one): p50 = (300 + 400) / 2
    assert figures.to_accepted == Percentiles(6, pytest.approx(350), pytest.approx(900), pytest.approx(980))


def test_a_vendor_without_jobs_has_zeros_and_no_percentiles(settings: Settings) -> None:
    figures = run(settings, lambda s: s.sync_metrics.deliveries(V, NOW - timedelta(days=7)))
    assert figures.total == 0 and figures.avg_callback_ms is None
    assert figures.to_accepted == Percentiles() == figures.to_callback
    assert figures.success_rate is None and figures.retry_rate is None


def test_open_dead_letters_are_counted_whenever_created_and_those_of_the_window_apart(settings: Settings) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for vendor, resolved, age in ((V, False, 1), (V, False, 30), (V, True, 1), ("other", False, 1)):
            conn.execute(
                "INSERT INTO dead_letter_queue (vendor_id, job_type, payload, attempts, resolved, created_at) "
                "VALUES (%s, 'create-order', '{}', 5, %s, %s)", (vendor, resolved, NOW - timedelta(hours=age)),
            )
    figures = run(settings, lambda s: s.sync_metrics.dead_letters(V, NOW - timedelta(hours=24)))
    assert (figures.open, figures.opened_in_window) == (2, 1)


def test_push_counters_add_up_per_hour_and_are_read_from_an_hour_on(settings: Settings) -> None:
    hour = NOW.replace(minute=0)
    push = {"processed": OutcomeCount(1, 7), "unchanged": OutcomeCount(1, 3), ALL_ROWS: OutcomeCount(1, 10)}

    async def scenario(s: Services) -> list[IngestCount]:
        await s.ingest_counter.add(V, IngestEntity.ITEMS, hour, push)
        await s.ingest_counter.add(V, IngestEntity.ITEMS, hour, push)
        await s.ingest_counter.add(V, IngestEntity.STOCK, hour - timedelta(hours=1), {ALL_ROWS: OutcomeCount(1, 0)})
        await s.ingest_counter.add(V, IngestEntity.ITEMS, hour - timedelta(hours=3), push)  # before from_hour
        await s.ingest_counter.add(VendorId("other"), IngestEntity.ITEMS, hour, push)
        await s.ingest_counter.flush()
        return await s.sync_metrics.ingest_counts(V, hour - timedelta(hours=1))

    counts = sorted(run(settings, scenario), key=lambda c: (c.entity, c.outcome))
    assert counts == [
        IngestCount(IngestEntity.ITEMS, ALL_ROWS, 2, 20),
        IngestCount(IngestEntity.ITEMS, "processed", 2, 14),
        IngestCount(IngestEntity.ITEMS, "unchanged", 2, 6),
        IngestCount(IngestEntity.STOCK, ALL_ROWS, 1, 0),
    ]
    with psycopg.connect(settings.database_url) as conn:
        # one row per vendor, entity, hour and outcome: 3 (items now) + 1 (stock) + 3 (items earlier) + 3 (other)
        assert conn.execute("SELECT count(*) FROM ingest_counts").fetchone() == (10,)


def test_concurrent_writers_of_the_same_counters_add_up_without_deadlocks(settings: Settings) -> None:
    hour = NOW.replace(minute=0)
    outcomes = ["processed", "unchanged", "stale", "duplicate_in_request", ALL_ROWS]

    async def scenario(s: Services) -> list[IngestCount]:
        store = PgIngestCounter(s.pool)  # as several API processes' flushes: each its own statement

        async def push(i: int) -> None:
            mine = outcomes[i % 3:] if i % 2 else list(reversed(outcomes))  # different outcome sets and orders
            await store.add(V, IngestEntity.ITEMS, hour, {o: OutcomeCount(1, 2) for o in mine})

        await asyncio.gather(*(push(i) for i in range(60)))
        return await s.sync_metrics.ingest_counts(V, hour)

    by_outcome = {c.outcome: (c.pushes, c.rows) for c in run(settings, scenario)}
    assert by_outcome[ALL_ROWS] == (60, 120)
    assert by_outcome["processed"] == (10 + 30, 80)  # every even push, and the odd ones with i % 3 == 0


def test_the_daily_cleanup_deletes_counters_older_than_8_days(settings: Settings) -> None:
    hour = NOW.replace(minute=0)

    async def scenario(s: Services) -> tuple[int, list[IngestCount]]:
        for age in (0, 24 * 8 - 1, 24 * 8 + 1, 24 * 30):
            await s.ingest_counter.add(V, IngestEntity.STOCK, hour - timedelta(hours=age),
                                       {ALL_ROWS: OutcomeCount(1, age)})
        await s.ingest_counter.flush()
        report = await s.cleanup_expired_jobs()
        return report.removed[Expiring.INGEST_COUNTS], await s.sync_metrics.ingest_counts(V, hour - timedelta(days=60))

    removed, left = run(settings, scenario)
    assert removed == 2
    assert left == [IngestCount(IngestEntity.STOCK, ALL_ROWS, 2, 24 * 8 - 1)]


def test_the_api_counter_holds_pushes_and_writes_them_all_in_one_statement(settings: Settings) -> None:
    hour = NOW.replace(minute=0)
    push = {"processed": OutcomeCount(1, 5), ALL_ROWS: OutcomeCount(1, 5)}

    async def scenario(s: Services) -> tuple[int, list[IngestCount], list[IngestCount]]:
        counter = s.ingest_counter
        assert isinstance(counter, CoalescedIngestCounter) and counter.interval == 1.0
        for vendor in (V, VendorId("other"), V):
            await counter.add(vendor, IngestEntity.ITEMS, hour, push)
        held, before = counter.held, await s.sync_metrics.ingest_counts(V, hour)
        after = await s.get_vendor_metrics(V)  # a read flushes what this process holds first
        return held, before, [IngestCount(IngestEntity.ITEMS, o, c.pushes, c.rows)
                              for o, c in after.ingest[IngestEntity.ITEMS].by_outcome.items() if c.rows]

    held, before, after = run(settings, scenario)
    assert (held, before) == (4, [])  # 2 vendors x 2 outcomes, nothing written yet
    assert after == [IngestCount(IngestEntity.ITEMS, "processed", 2, 10)]


def test_the_api_counter_writes_what_it_holds_within_its_interval_and_at_shutdown(settings: Settings) -> None:
    hour = NOW.replace(minute=0)

    async def scenario(s: Services) -> list[IngestCount]:
        counter = s.ingest_counter
        assert isinstance(counter, CoalescedIngestCounter)
        counter.interval = 0.05
        await counter.add(V, IngestEntity.STOCK, hour, {ALL_ROWS: OutcomeCount(1, 3)})
        for _ in range(100):  # the flusher's turn comes after its interval, without a read to force it
            await asyncio.sleep(0.02)
            if counter.held == 0:
                break
        await counter.add(V, IngestEntity.STOCK, hour, {ALL_ROWS: OutcomeCount(1, 4)})  # left for the shutdown
        return await s.sync_metrics.ingest_counts(V, hour)

    assert run(settings, scenario) == [IngestCount(IngestEntity.STOCK, ALL_ROWS, 1, 3)]
    later = run(settings, lambda s: s.sync_metrics.ingest_counts(V, hour))  # the first services' stop wrote it
    assert later == [IngestCount(IngestEntity.STOCK, ALL_ROWS, 2, 7)]


def test_a_failed_write_keeps_the_counts_for_the_next(settings: Settings) -> None:
    hour = NOW.replace(minute=0)

    class Flaky(PgIngestCounter):
        fail = True

        async def add_many(self, counts: Any) -> None:
            if self.fail:
                self.fail = False
                raise OSError("the database went away")
            await super().add_many(counts)

    async def scenario(s: Services) -> list[IngestCount]:
        counter = CoalescedIngestCounter(Flaky(s.pool), interval=60)
        await counter.add(V, IngestEntity.ITEMS, hour, {ALL_ROWS: OutcomeCount(1, 2)})
        with pytest.raises(OSError):
            await counter.flush()
        await counter.add(V, IngestEntity.ITEMS, hour, {ALL_ROWS: OutcomeCount(1, 3)})
        await counter.close()
        return await s.sync_metrics.ingest_counts(V, hour)

    assert run(settings, scenario) == [IngestCount(IngestEntity.ITEMS, ALL_ROWS, 2, 5)]
