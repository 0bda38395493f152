"""The fake metrics reader answers what the PostgreSQL one does, on the same jobs and letters (no drift)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from restosync_adapters.postgres.metrics import PgSyncMetricsReader
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.settings import Settings
from restosync_core.model.delivery import ORDER_SYNC_JOB_TYPE
from restosync_core.model.ids import SyncJobId, VendorId
from restosync_core.model.metrics import DeliveryFigures
from restosync_core.model.orders import SyncJob, SyncJobStatus, pending_sync_job
from tests.fakes import FakeDatabase
from tests.fakes.metrics import FakeSyncMetricsReader

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
V = VendorId("vendor-c")

Shape = tuple[SyncJobStatus, int, int | None, int | None, int, bool]
shapes = st.lists(
    st.tuples(
        st.sampled_from(list(SyncJobStatus)),
        st.integers(min_value=0, max_value=6),  # attempts
        st.none() | st.integers(min_value=0, max_value=10**6),  # ms to sent
        st.none() | st.integers(min_value=0, max_value=10**7),  # ms to completed
        st.integers(min_value=0, max_value=180),  # minutes old
        st.booleans(),  # ours (else another vendor's)
    ),
    max_size=25,
)


def _job(shape: Shape) -> SyncJob:
    status, attempts, sent, done, minutes, ours = shape
    created = NOW - timedelta(minutes=minutes)
    job = pending_sync_job(SyncJobId(uuid.uuid4()), order_id=None, vendor_id=V if ours else VendorId("other"),
                           job_type=ORDER_SYNC_JOB_TYPE, payload={}, max_attempts=5, now=created)
    return replace(job, status=status, attempts=attempts,
                   sent_at=None if sent is None else created + timedelta(milliseconds=sent),
                   completed_at=None if done is None else created + timedelta(milliseconds=done))


def _same(pg: DeliveryFigures, fake: DeliveryFigures) -> None:
    assert dict(pg.by_status) == dict(fake.by_status) and pg.retried == fake.retried
    assert pg.avg_callback_ms == pytest.approx(fake.avg_callback_ms)
    for mine, theirs in ((pg.to_accepted, fake.to_accepted), (pg.to_callback, fake.to_callback)):
        assert mine.samples == theirs.samples
        assert (mine.p50, mine.p95, mine.p99) == pytest.approx((theirs.p50, theirs.p95, theirs.p99))


@examples(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=shapes)
def test_the_fake_and_postgresql_count_the_same_deliveries(settings: Settings, jobs: list[Shape]) -> None:
    made = [_job(shape) for shape in jobs]
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM sync_jobs")
        for j in made:
            conn.execute(
                "INSERT INTO sync_jobs (id, vendor_id, job_type, status, payload, attempts, created_at, updated_at, "
                "sent_at, completed_at) VALUES (%s, %s, %s, %s, '{}', %s, %s, %s, %s, %s)",
                (j.id, j.vendor_id, j.job_type, j.status.value, j.attempts, j.created_at, j.created_at,
                 j.sent_at, j.completed_at),
            )
    db = FakeDatabase()
    db.table("sync_jobs").update({j.id: j for j in made})

    async def both() -> tuple[DeliveryFigures, DeliveryFigures]:
        pool = make_pool(settings.database_url, max_size=1)
        await pool.open()
        try:
            since = NOW - timedelta(hours=1)
            return (await PgSyncMetricsReader(pool).deliveries(V, since),
                    await FakeSyncMetricsReader(db).deliveries(V, since))
        finally:
            await pool.close()

    _same(*asyncio.run(both()))
