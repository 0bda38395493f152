"""The per-vendor metrics use case and the push counters, over the fakes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restosync_adapters.bootstrap import Services
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.delivery import ORDER_SYNC_JOB_TYPE, BreakerKey, BreakerState
from restosync_core.model.ids import AgentId, DeadLetterId, SyncJobId, VendorId
from restosync_core.model.ingest import RowReason, RowStatus
from restosync_core.model.mappings import MappingType
from restosync_core.model.metrics import (
    ALL_ROWS,
    OUTCOMES,
    IngestEntity,
    OutcomeCount,
    Window,
    hour_of,
    outcome_status,
    push_counts,
)
from restosync_core.model.orders import DeadLetter, SyncJob, SyncJobStatus, pending_sync_job
from restosync_core.policies.breaker import BreakerRecord
from tests.fakes import FakeClock, FakeDatabase
from tests.fakes.catalog import FakeMappingResolver
from tests.fakes.metrics import FakeIngestCounter
from tests.fakes.orders import FakeCircuitBreaker
from tests.unit.ingest.helpers import item, level, warehouse
from tests.unit.services import unit_services

T = TypeVar("T")
NOW = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)
V = VendorId("vendor-1")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def world(db: FakeDatabase | None = None, **overrides: Any) -> tuple[Services, FakeDatabase, FakeClock]:
    db = db or FakeDatabase()
    clock = FakeClock(NOW)
    return unit_services(db, clock, **overrides), db, clock


def job(status: SyncJobStatus, *, age: timedelta = timedelta(minutes=5), attempts: int = 1,
        sent_ms: float | None = None, done_ms: float | None = None, vendor: VendorId = V) -> SyncJob:
    created = NOW - age
    base = pending_sync_job(SyncJobId(uuid.uuid4()), order_id=None, vendor_id=vendor,
                            job_type=ORDER_SYNC_JOB_TYPE, payload={}, max_attempts=5, now=created)
    return replace(
        base, status=status, attempts=attempts,
        sent_at=None if sent_ms is None else created + timedelta(milliseconds=sent_ms),
        completed_at=None if done_ms is None else created + timedelta(milliseconds=done_ms),
    )


def store(db: FakeDatabase, *jobs: SyncJob) -> None:
    table = db.table("sync_jobs")
    for j in jobs:
        table[j.id] = j


# ---------------------------------------------------------------- the use case


def test_the_spec_fields_come_from_the_jobs_of_the_window_with_null_rates_when_nothing_to_divide() -> None:
    services, db, _ = world()
    store(db,
          job(SyncJobStatus.COMPLETED, sent_ms=10, done_ms=1000, attempts=2),
          job(SyncJobStatus.COMPLETED, sent_ms=30, done_ms=3000),
          job(SyncJobStatus.FAILED, attempts=5),
          job(SyncJobStatus.SENT, sent_ms=50),
          job(SyncJobStatus.PROCESSING),
          job(SyncJobStatus.COMPLETED, age=timedelta(hours=2), done_ms=9),  # before the window
          job(SyncJobStatus.COMPLETED, vendor=VendorId("other"), done_ms=9))

    m = run(services.get_vendor_metrics(V, Window.HOUR))

    d = m.deliveries
    assert (d.total, d.pending, d.completed, d.failed, d.retried) == (5, 2, 2, 1, 2)
    assert d.success_rate == pytest.approx(2 / 3) and d.retry_rate == pytest.approx(2 / 5)
    assert d.avg_callback_ms == pytest.approx(2000)
    assert (d.to_callback.samples, d.to_callback.p50) == (2, pytest.approx(2000))
    assert (d.to_accepted.samples, d.to_accepted.p50) == (3, pytest.approx(30))
    assert (m.since, m.until, m.ingest_since) == (NOW - timedelta(hours=1), NOW, NOW.replace(minute=0) - timedelta(
        hours=1))
    assert m.completed_kept_since is None  # 1 h is within the 24 h completed jobs are kept

    empty = run(services.get_vendor_metrics(VendorId("nobody"), Window.WEEK))
    assert empty.deliveries.total == 0
    assert (empty.deliveries.success_rate, empty.deliveries.retry_rate, empty.deliveries.avg_callback_ms) == (
        None, None, None)
    assert empty.completed_kept_since == NOW - timedelta(hours=24)
    assert empty.agent is None and empty.order_breaker is BreakerState.CLOSED and empty.breakers == ()


def test_the_agent_is_shown_as_of_now_and_only_the_vendors_breakers() -> None:
    services, db, _ = world()
    beat = NOW - timedelta(seconds=90)
    db.table("agent_registry")[V] = Agent(
        id=AgentId(uuid.uuid4()), vendor_id=V, agent_url="https://agent.example", auth_token_hash="x",
        version="1.2.3", status=AgentStatus.ONLINE, last_heartbeat_at=beat, registered_at=beat, updated_at=beat,
    )
    breaker = services.breaker
    assert isinstance(breaker, FakeCircuitBreaker)
    breaker.records[BreakerKey(V, "orders")] = BreakerRecord(BreakerState.OPEN, opened_at=NOW)
    breaker.records[BreakerKey(VendorId("other"), "orders")] = BreakerRecord()

    m = run(services.get_vendor_metrics(V))

    assert m.window is Window.DAY
    assert m.agent is not None and m.agent.status is AgentStatus.DEGRADED  # 90 s without a heartbeat
    assert (m.agent.last_heartbeat_at, m.agent.version) == (beat, "1.2.3")
    assert m.order_breaker is BreakerState.OPEN and [b.key for b in m.breakers] == [BreakerKey(V, "orders")]


def test_dead_letters_open_count_whenever_created() -> None:
    services, db, _ = world()
    letters = db.table("dead_letters")
    for vendor, at, resolved in ((V, NOW - timedelta(days=3), False), (V, NOW - timedelta(hours=1), False),
                                 (V, NOW, True), (VendorId("other"), NOW, False)):
        letter = DeadLetter(id=DeadLetterId(uuid.uuid4()), sync_job_id=None, vendor_id=vendor,
                            job_type=ORDER_SYNC_JOB_TYPE, payload={}, last_error="x", attempts=5,
                            resolved=resolved, created_at=at)
        letters[letter.id] = letter
    figures = run(services.get_vendor_metrics(V)).dead_letters
    assert (figures.open, figures.opened_in_window) == (2, 1)


job_shapes = st.lists(
    st.tuples(
        st.sampled_from(list(SyncJobStatus)),
        st.integers(min_value=0, max_value=6),
        st.none() | st.floats(min_value=0, max_value=1e6),
        st.none() | st.floats(min_value=0, max_value=1e7),
        st.integers(min_value=0, max_value=60 * 24 * 8),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(shapes=job_shapes, window=st.sampled_from(list(Window)))
def test_rates_are_shares_and_percentiles_are_ordered(
    shapes: list[tuple[SyncJobStatus, int, float | None, float | None, int]], window: Window
) -> None:
    services, db, _ = world()
    store(db, *(job(status, attempts=attempts, sent_ms=sent, age=timedelta(minutes=minutes),
                    done_ms=done if status is SyncJobStatus.COMPLETED else None)
                for status, attempts, sent, done, minutes in shapes))

    d = run(services.get_vendor_metrics(V, window)).deliveries

    in_window = [s for s in shapes if timedelta(minutes=s[4]) <= window.duration]
    assert d.total == len(in_window) == d.pending + d.completed + d.failed
    for share in (d.success_rate, d.retry_rate):
        assert share is None or 0 <= share <= 1
    assert (d.success_rate is None) == (d.completed + d.failed == 0)
    assert (d.retry_rate is None) == (d.total == 0)
    for p in (d.to_accepted, d.to_callback):
        if p.samples:
            assert p.p50 is not None and p.p95 is not None and p.p99 is not None
            assert p.p50 <= p.p95 <= p.p99
        else:
            assert (p.p50, p.p95, p.p99) == (None, None, None)
    assert d.to_callback.samples <= d.completed


# ---------------------------------------------------------------- counting pushes


@given(reasons=st.lists(st.none() | st.sampled_from(list(RowReason)), max_size=50))
def test_a_push_counts_once_per_outcome_and_its_rows_add_up(reasons: list[RowReason | None]) -> None:
    counts = push_counts(reasons)
    assert counts[ALL_ROWS] == OutcomeCount(1, len(reasons))
    assert sum(c.rows for o, c in counts.items() if o != ALL_ROWS) == len(reasons)
    assert all(c.pushes == 1 for c in counts.values())
    processed = counts.get("processed", OutcomeCount()).rows
    assert processed == sum(1 for r in reasons if r is None)


def test_every_outcome_of_an_entity_is_a_row_status_the_pipeline_answers() -> None:
    assert {outcome_status(o) for o in OUTCOMES[IngestEntity.ITEMS]} == set(RowStatus)
    assert set(OUTCOMES[IngestEntity.WAREHOUSES]) < set(OUTCOMES[IngestEntity.STOCK])
    assert hour_of(datetime(2026, 5, 4, 12, 59, 59, 999, tzinfo=UTC)) == datetime(2026, 5, 4, 12, tzinfo=UTC)


def test_each_push_is_one_counter_write_and_shows_in_the_metrics_by_entity_and_outcome() -> None:
    resolver = FakeMappingResolver()
    for kind, erp, resto in ((MappingType.UNIT, "KG", "kilogram"), (MappingType.VAT, "TVA20", "vat-20"),
                             (MappingType.FAMILY, "FRUIT", "fruit")):
        resolver.add(V, kind, erp, resto)
    services, _, _ = world(mapping_resolver=resolver)
    counter = services.ingest_counter
    assert isinstance(counter, FakeIngestCounter)
    run(services.ingest_warehouses(V, [warehouse("W1"), warehouse("W2")]))
    run(services.ingest_items(V, [item("A"), item("B", unit_code="LB")]))
    run(services.ingest_items(V, [item("A"), item("C"), item("C", minutes=1)]))
    run(services.ingest_stock(V, [level("A", "W1"), level("Z", "W1")]))
    assert counter.writes == 4

    ingest = run(services.get_vendor_metrics(V)).ingest

    items = ingest[IngestEntity.ITEMS]
    assert (items.pushes, items.rows) == (2, 5)
    assert {o: (c.pushes, c.rows) for o, c in items.by_outcome.items() if c.rows} == {
        "processed": (2, 2), "unmapped_unit": (1, 1), "unchanged": (1, 1), "duplicate_in_request": (1, 1)}
    assert (items.rows_with(RowStatus.PROCESSED), items.rows_with(RowStatus.SKIPPED),
            items.rows_with(RowStatus.FAILED)) == (2, 2, 1)
    stock = ingest[IngestEntity.STOCK]
    assert (stock.pushes, stock.by_outcome["unknown_item"].rows, stock.by_outcome["processed"].rows) == (1, 1, 1)
    assert ingest[IngestEntity.WAREHOUSES].by_outcome["processed"] == OutcomeCount(1, 2)


def test_a_push_whose_counter_write_fails_is_stored_and_answered_and_the_failure_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    services, db, _ = world()
    counter = services.ingest_counter
    assert isinstance(counter, FakeIngestCounter)
    counter.fail_with = DependencyUnavailable("the database is unavailable")

    with caplog.at_level(logging.WARNING):
        report = run(services.ingest_warehouses(V, [warehouse("W1")]))

    assert report.processed == 1 and (V, "W1") in db.table("warehouses")
    assert "could not count a push of 1 warehouses rows for vendor vendor-1" in caplog.text
    assert counter.counts == {}


def test_reconciliation_repairs_are_not_counted_as_pushes() -> None:
    services, _, _ = world()
    assert services.ingest_items.counter is services.ingest_counter is services.ingest_stock.counter
    assert services.run_reconciliation.write_items.counter is None  # type: ignore[attr-defined]
    assert services.run_reconciliation.write_stock.counter is None  # type: ignore[attr-defined]
