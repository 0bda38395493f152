"""PgReconciliationRuns against the real PostgreSQL: one active run per vendor, claims, outcomes and events.

Concurrent requests race through separate pooled connections (the partial unique
index decides); a running run whose advisory lock is free is a dead one; a
finished run's outcome, run event and per-repair events are written together;
the events list filters and pages; the metrics are exact for a known sequence.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.locks import try_advisory_lock
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.reconciliation import DEAD_RUN_REASON, PgReconciliationRuns
from restosync_adapters.postgres.retention import PgRetentionStore
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import PageRequest
from restosync_core.model.reconciliation import (
    EntitySummary,
    FieldChange,
    ReconciledEntity,
    ReconciliationEventType,
    ReconciliationRun,
    RepairAction,
    RepairOutcome,
    RowRepair,
    RunId,
    RunScope,
    RunStatus,
    RunSummary,
    RunTrigger,
)
from restosync_core.ports.reconciliation import EventFilter
from restosync_core.ports.retention import Expiring
from restosync_core.use_cases.reconcile_vendor import run_lock_key

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ITEMS, STOCK = ReconciledEntity.ITEMS, ReconciledEntity.STOCK
Type = ReconciliationEventType


@pytest.fixture
async def pool(clean_db: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = make_pool(clean_db, max_size=12)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def runs(pool: AsyncConnectionPool) -> PgReconciliationRuns:
    return PgReconciliationRuns(pool)


def new_run(vendor: str, at: datetime = NOW, *, scope: RunScope = RunScope.ALL,
            trigger: RunTrigger = RunTrigger.SCHEDULE, confirmed: bool = False) -> ReconciliationRun:
    return ReconciliationRun(RunId(uuid.uuid4()), VendorId(vendor), scope, trigger, RunStatus.QUEUED, at,
                             confirmed=confirmed, correlation_id=uuid.uuid4())


def summary(*entities: EntitySummary, reason: str | None = None, duration_ms: int = 1234) -> RunSummary:
    return RunSummary(entities=entities, duration_ms=duration_ms, reason=reason)


def repair(sku: str, outcome: RepairOutcome = RepairOutcome.REPAIRED, *, entity: ReconciledEntity = ITEMS,
           action: RepairAction = RepairAction.UPDATED) -> RowRepair:
    key = (sku,) if entity is ITEMS else (sku, "WH-1")
    changes = (FieldChange("price", "1.5", "2"),) if action is RepairAction.UPDATED else ()
    reason = None if outcome is RepairOutcome.REPAIRED else "a push stored this row after the run read it (stale)"
    return RowRepair(entity, key, action, changes, outcome, reason)


async def finished(runs: PgReconciliationRuns, vendor: str, at: datetime, status: RunStatus,
                   drift: int = 0, repaired: int = 0, repairs: list[RowRepair] | None = None,
                   reason: str | None = None) -> ReconciliationRun:
    """A run requested, claimed and finished at ``at`` (one minute long)."""
    requested = await runs.request(new_run(vendor, at - timedelta(minutes=1)))
    assert requested.created
    claimed = await runs.claim(requested.run.id, at - timedelta(minutes=1))
    assert claimed is not None
    s = summary(EntitySummary(ITEMS, database_rows=100, erp_rows=100, ranges_visited=3, agent_calls=2,
                              rows_compared=16, drift_found=drift, repaired=repaired), reason=reason)
    return await runs.finish(claimed, status, s, repairs or [], at)


# ---------------------------------------------------------------- one active run per vendor


async def test_concurrent_requests_make_one_run_and_all_answer_it(runs: PgReconciliationRuns) -> None:
    for round_ in range(3):
        vendor = f"v-race-{round_}"
        answers = await asyncio.gather(*(runs.request(new_run(vendor)) for _ in range(10)))
        assert sum(a.created for a in answers) == 1
        assert len({a.run.id for a in answers}) == 1
        assert all(a.run.status is RunStatus.QUEUED for a in answers)
    assert len(await runs.active()) == 3


async def test_a_queued_or_live_running_run_is_answered_and_a_finished_one_is_not(
    runs: PgReconciliationRuns, pool: AsyncConnectionPool
) -> None:
    first = await runs.request(new_run("v1", trigger=RunTrigger.ADMIN, scope=RunScope.STOCK, confirmed=True))
    assert first.created and first.run.trigger is RunTrigger.ADMIN and first.run.scope is RunScope.STOCK
    assert first.run.confirmed is True
    again = await runs.request(new_run("v1"))
    assert not again.created and again.run == first.run
    other_vendor = await runs.request(new_run("v2"))
    assert other_vendor.created

    claimed = await runs.claim(first.run.id, NOW + timedelta(seconds=1))
    assert claimed is not None
    async with try_advisory_lock(pool, run_lock_key("v1")) as held:  # its worker is alive: it holds the lock
        assert held
        while_running = await runs.request(new_run("v1"))
        assert not while_running.created and while_running.run == claimed

    await runs.finish(claimed, RunStatus.COMPLETED, summary(), [], NOW + timedelta(minutes=1))
    after = await runs.request(new_run("v1", NOW + timedelta(minutes=2)))
    assert after.created and after.run.id != first.run.id


async def test_a_running_run_whose_lock_is_free_is_failed_and_replaced(runs: PgReconciliationRuns) -> None:
    dead = await runs.request(new_run("v1"))
    assert await runs.claim(dead.run.id, NOW) is not None
    # No process holds run_lock_key("v1"): the worker that claimed it died.
    replacement = await runs.request(new_run("v1", NOW + timedelta(minutes=30)))
    assert replacement.created and replacement.run.id != dead.run.id
    failed = await runs.get(dead.run.id)
    assert failed is not None and failed.status is RunStatus.FAILED
    assert failed.summary.reason == DEAD_RUN_REASON
    assert failed.finished_at == NOW + timedelta(minutes=30)
    assert [r.id for r in await runs.active()] == [replacement.run.id]


async def test_two_requests_racing_over_a_dead_run_make_one_replacement(runs: PgReconciliationRuns) -> None:
    dead = await runs.request(new_run("v1"))
    assert await runs.claim(dead.run.id, NOW) is not None
    answers = await asyncio.gather(*(runs.request(new_run("v1", NOW + timedelta(minutes=5))) for _ in range(8)))
    assert sum(a.created for a in answers) == 1
    assert len({a.run.id for a in answers}) == 1 and answers[0].run.id != dead.run.id


async def test_a_run_is_claimed_once(runs: PgReconciliationRuns) -> None:
    run = (await runs.request(new_run("v1"))).run
    claims = await asyncio.gather(*(runs.claim(run.id, NOW + timedelta(seconds=2)) for _ in range(6)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].status is RunStatus.RUNNING and won[0].started_at == NOW + timedelta(seconds=2)
    assert await runs.claim(run.id, NOW + timedelta(seconds=3)) is None
    assert await runs.claim(RunId(uuid.uuid4()), NOW) is None
    assert await runs.get(RunId(uuid.uuid4())) is None


# ---------------------------------------------------------------- outcomes and events


async def test_finish_records_the_outcome_the_run_event_and_one_event_per_repaired_row(
    runs: PgReconciliationRuns,
) -> None:
    run = (await runs.request(new_run("v1", scope=RunScope.ALL))).run
    claimed = await runs.claim(run.id, NOW)
    assert claimed is not None
    items = EntitySummary(ITEMS, database_rows=1000, erp_rows=1001, ranges_visited=7, agent_calls=4,
                          rows_compared=30, drift_found=3, repaired=2, left_to_newer_push=1, inserted=1, updated=1)
    stock = EntitySummary(STOCK, database_rows=500, erp_rows=500, ranges_visited=1, agent_calls=1)
    repairs = [
        repair("A", action=RepairAction.INSERTED), repair("B"), repair("C", RepairOutcome.LEFT_TO_NEWER_PUSH),
        repair("D", entity=STOCK, action=RepairAction.DEACTIVATED),
    ]
    s = RunSummary(entities=(items, stock), duration_ms=4321, samples=(repairs[2].as_dict(),))
    at = NOW + timedelta(seconds=5)

    done = await runs.finish(claimed, RunStatus.COMPLETED, s, repairs, at)

    assert done.status is RunStatus.COMPLETED and done.finished_at == at and done.started_at == NOW
    assert done.summary == s, "the summary maps back to RunSummary with EntitySummary objects"
    assert isinstance(done.summary.entities[0], EntitySummary) and done.summary.drift_found == 3
    assert await runs.get(run.id) == done
    page = await runs.events(EventFilter(run_id=run.id), PageRequest(limit=100))
    assert page.total == 4
    by_type: dict[ReconciliationEventType, list[object]] = {}
    for e in page.items:
        assert e.run_id == run.id and e.vendor_id == "v1" and e.created_at == at
        by_type.setdefault(e.event_type, []).append(e)
    assert set(by_type) == {Type.DRIFT_DETECTED, Type.CONFLICT_RESOLVED}
    (run_event,) = [e for e in page.items if e.event_type is Type.DRIFT_DETECTED]
    assert run_event.entity == "all" and run_event.duration_ms == 4321 and run_event.summary == s.as_dict()
    resolved = [(e.entity, e.summary) for e in page.items if e.event_type is Type.CONFLICT_RESOLVED]
    assert sorted(resolved, key=str) == sorted(
        ((r.entity.value, r.as_dict()) for r in (repairs[0], repairs[1], repairs[3])), key=str)


@pytest.mark.parametrize(("status", "drift", "event"), [
    (RunStatus.COMPLETED, 0, Type.DRIFT_CHECK),
    (RunStatus.STOPPED, 80, Type.DRIFT_DETECTED),
    (RunStatus.SKIPPED, 0, Type.ERROR),
    (RunStatus.FAILED, 2, Type.ERROR),
])
async def test_the_run_event_says_what_the_run_found(
    runs: PgReconciliationRuns, status: RunStatus, drift: int, event: ReconciliationEventType
) -> None:
    # A stopped run's repairs are NOT_APPLIED: no conflict_resolved event for them.
    stopped = [repair("A", RepairOutcome.NOT_APPLIED)] if status is RunStatus.STOPPED else []
    done = await finished(runs, "v1", NOW, status, drift=drift, repairs=stopped, reason=f"because {status}")
    page = await runs.events(EventFilter(vendor_id=VendorId("v1")), PageRequest())
    assert [(e.event_type, e.run_id) for e in page.items] == [(event, done.id)]
    assert done.summary.reason == f"because {status}"


async def test_events_filter_by_every_field_and_page_newest_first(runs: PgReconciliationRuns) -> None:
    r1 = await finished(runs, "v1", NOW - timedelta(hours=3), RunStatus.COMPLETED, 2, 2,
                        [repair("A"), repair("B", entity=STOCK)])
    r2 = await finished(runs, "v1", NOW - timedelta(hours=2), RunStatus.COMPLETED)
    r3 = await finished(runs, "v2", NOW - timedelta(hours=1), RunStatus.SKIPPED)
    r4 = await finished(runs, "v1", NOW, RunStatus.COMPLETED, 1, 1, [repair("C")])

    async def ids(where: EventFilter) -> list[tuple[RunId | None, str, str]]:
        page = await runs.events(where, PageRequest(limit=100))
        return [(e.run_id, e.event_type.value, e.entity) for e in page.items]

    everything = await runs.events(EventFilter(), PageRequest(limit=100))
    assert everything.total == 7  # r1: 1 + 2 repairs, r2: 1, r3: 1, r4: 1 + 1
    stamps = [e.created_at for e in everything.items]
    assert stamps == sorted(stamps, reverse=True)
    v1 = VendorId("v1")
    assert {r for r, _, _ in await ids(EventFilter(vendor_id=v1))} == {r1.id, r2.id, r4.id}
    assert await ids(EventFilter(vendor_id=v1, entity=STOCK)) == [(r1.id, "conflict_resolved", "stock")]
    assert sorted(await ids(EventFilter(vendor_id=v1, entity=ITEMS))) == sorted([
        (r1.id, "conflict_resolved", "items"), (r4.id, "conflict_resolved", "items")])
    assert await ids(EventFilter(event_type=Type.ERROR)) == [(r3.id, "error", "all")]
    assert await ids(EventFilter(event_type=Type.DRIFT_CHECK)) == [(r2.id, "drift_check", "all")]
    assert len(await ids(EventFilter(run_id=r4.id))) == 2
    window = EventFilter(since=NOW - timedelta(hours=2), until=NOW)  # since inclusive, until exclusive
    assert [r for r, _, _ in await ids(window)] == [r3.id, r2.id]
    assert await ids(EventFilter(vendor_id=VendorId("nobody"))) == []

    pages = [await runs.events(EventFilter(vendor_id=v1), PageRequest(page=n, limit=4)) for n in (1, 2)]
    assert [p.total for p in pages] == [6, 6] and [len(p.items) for p in pages] == [4, 2]
    seen = [e.id for p in pages for e in p.items]
    assert len(set(seen)) == 6, "pages neither repeat nor skip an event"
    assert pages[0].items[0].created_at == NOW
    past_the_end = await runs.events(EventFilter(vendor_id=v1), PageRequest(page=9, limit=4))
    assert past_the_end.items == [] and past_the_end.total == 6


async def test_metrics_are_exact_for_a_known_sequence(runs: PgReconciliationRuns) -> None:
    await finished(runs, "v1", NOW - timedelta(days=8), RunStatus.COMPLETED, 1, 1, [repair("OLD")])  # outside 7 d
    stopped = await finished(runs, "v1", NOW - timedelta(hours=30), RunStatus.STOPPED, 50, 0)
    await finished(runs, "v1", NOW - timedelta(hours=3), RunStatus.SKIPPED, reason="the agent is offline")
    quiet = await finished(runs, "v1", NOW - timedelta(hours=2), RunStatus.COMPLETED)
    last = await finished(runs, "v1", NOW - timedelta(hours=1), RunStatus.COMPLETED, 3, 3,
                          [repair("A"), repair("B"), repair("C")])
    await finished(runs, "v2", NOW - timedelta(hours=1), RunStatus.COMPLETED, 9, 9, [repair("Z")])
    await runs.request(new_run("v1", NOW))  # queued: not finished, not in the figures

    m = await runs.metrics(VendorId("v1"), NOW, recent=3)

    assert m.vendor_id == "v1"
    assert m.event_count == 5 + 1 + 3  # one per run, one per repaired row
    assert m.last_run == last
    assert [r.id for r in m.recent_runs] == [last.id, quiet.id, m.recent_runs[2].id]
    assert m.recent_runs[2].status is RunStatus.SKIPPED
    day = m.last_24h
    assert (day.runs, day.compared, day.with_drift, day.drift_found, day.repaired) == (3, 2, 1, 3, 3)
    assert day.by_status == {"completed": 2, "skipped": 1} and day.drift_frequency == 0.5
    week = m.last_7d
    assert (week.runs, week.compared, week.with_drift, week.drift_found, week.repaired) == (4, 3, 2, 53, 3)
    assert week.by_status == {"completed": 2, "skipped": 1, "stopped": 1}
    assert week.drift_frequency == pytest.approx(2 / 3)
    assert stopped in (await runs.metrics(VendorId("v1"), NOW, recent=20)).recent_runs

    empty = await runs.metrics(VendorId("nobody"), NOW)
    assert empty.event_count == 0 and empty.last_run is None and empty.recent_runs == []
    assert empty.last_24h.runs == 0 and empty.last_7d.drift_frequency is None and empty.last_7d.by_status == {}


async def test_the_weekly_archive_deletes_old_events_then_old_finished_runs_in_chunks(
    runs: PgReconciliationRuns, pool: AsyncConnectionPool
) -> None:
    old = [await finished(runs, f"v{n}", NOW - timedelta(days=100), RunStatus.COMPLETED, 1, 1, [repair("A")])
           for n in range(3)]  # 3 runs, 6 events
    kept = await finished(runs, "v1", NOW - timedelta(days=1), RunStatus.COMPLETED)
    stuck = (await runs.request(new_run("v9", NOW - timedelta(days=100)))).run  # active: never deleted
    store = PgRetentionStore(pool)
    cutoff = NOW - timedelta(days=90)

    chunks = []
    while True:
        chunks.append(await store.delete_chunk(Expiring.RECONCILIATION_EVENTS, cutoff, 4))
        if chunks[-1] < 4:
            break

    assert chunks == [4, 4, 1]  # 6 events, then 3 runs
    assert all([await runs.get(r.id) is None for r in old])
    assert await runs.get(kept.id) == kept and await runs.get(stuck.id) == stuck
    assert (await runs.events(EventFilter(), PageRequest())).total == 1
