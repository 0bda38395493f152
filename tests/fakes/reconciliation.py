"""In-memory fakes of the reconciliation ports, over ``FakeDatabase`` and an ``ErpSimulator``.

``FakeCatalogDigests`` answers from the fake catalogue tables what the SQL
answers from PostgreSQL (live rows only); ``FakeReconciliationRuns`` keeps runs
and events in ``FakeDatabase`` with the same one-active-run rule;
``SimulatedAgent`` is the agent port over an ``ErpSimulator`` (failures can be
injected); ``FakeLocks`` is the advisory lock.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from restosync_core.errors import AgentRefused, AgentUnavailable
from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.model.reconciliation import (
    ReconciledEntity,
    ReconciliationEvent,
    ReconciliationEventType,
    ReconciliationRun,
    RepairOutcome,
    RowRepair,
    RunId,
    RunStatus,
    RunSummary,
)
from restosync_core.policies.reconciliation import PositionRange, RangeDigest, digest_parts, position
from restosync_core.ports.reconciliation import (
    EventFilter,
    ReconciliationMetrics,
    Row,
    RowKey,
    RunRequest,
    WindowFigures,
)
from tests.erp_simulator import ErpSimulator
from tests.fakes import FakeDatabase
from tests.fakes.catalog import DEACTIVATED, ITEMS, STOCK, StoredRow, table

RUNS, EVENTS = "reconciliation_runs", "reconciliation_events"


class FakeCatalogDigests:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.calls = 0

    def _live(self, vendor_id: VendorId, entity: ReconciledEntity) -> list[tuple[Any, StoredRow]]:
        name = ITEMS if entity is ReconciledEntity.ITEMS else STOCK
        rows = self.db.committed_table(name)
        return [(key, row) for (vendor, key), row in rows.items() if vendor == vendor_id and row.deactivated_at is None]

    @staticmethod
    def _sku(key: Any) -> str:
        return key if isinstance(key, str) else key[0]

    async def checksums(
        self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange, parts: int
    ) -> list[RangeDigest]:
        self.calls += 1
        return digest_parts(
            rng, parts, ((position(self._sku(k)), r.content_hash) for k, r in self._live(vendor_id, entity))
        )

    async def rows(self, vendor_id: VendorId, entity: ReconciledEntity, rng: PositionRange) -> list[tuple[Row, str]]:
        self.calls += 1
        out: list[tuple[Row, str]] = []
        for key, row in self._live(vendor_id, entity):
            if rng.contains(position(self._sku(key))):
                erp_row = row.write.item if entity is ReconciledEntity.ITEMS else row.write.level
                out.append((erp_row, row.content_hash))
        return out

    async def deactivate(
        self, vendor_id: VendorId, entity: ReconciledEntity, keys: Sequence[RowKey], *,
        untouched_since: datetime, at: datetime,
    ) -> set[RowKey]:
        name = ITEMS if entity is ReconciledEntity.ITEMS else STOCK
        rows = table(self.db, name)
        done: set[RowKey] = set()
        for key in keys:
            stored_key = key[0] if entity is ReconciledEntity.ITEMS else (key[0], key[1])
            row = rows.get((vendor_id, stored_key))
            if row is None or row.deactivated_at is not None or row.last_synced_at >= untouched_since:
                continue
            write = row.write
            if entity is ReconciledEntity.ITEMS:
                write = replace(write, item=replace(write.item, active=False))
            rows[(vendor_id, stored_key)] = replace(row, write=write, content_hash=DEACTIVATED, deactivated_at=at)
            done.add(tuple(key))
        return done


class FakeReconciliationRuns:
    """Runs and events in ``FakeDatabase``; ``dead`` holds run ids whose process 'died' (lock free)."""

    def __init__(self, db: FakeDatabase, locks: FakeLocks | None = None) -> None:
        self.db = db
        self.locks = locks

    def _runs(self) -> dict[RunId, ReconciliationRun]:
        runs: dict[RunId, ReconciliationRun] = self.db.table(RUNS)
        return runs

    def _events(self) -> list[ReconciliationEvent]:
        return list(self._event_table().values())

    def _event_table(self) -> dict[UUID, ReconciliationEvent]:
        """Keyed by id, as ``FakeRetentionStore`` expects (it archives these)."""
        events: dict[UUID, ReconciliationEvent] = self.db.table(EVENTS)
        return events

    async def request(self, run: ReconciliationRun) -> RunRequest:
        from restosync_core.use_cases.reconcile_vendor import run_lock_key

        runs = self._runs()
        for other in list(runs.values()):
            if other.vendor_id == run.vendor_id and other.status.active:
                lock_free = self.locks is not None and run_lock_key(run.vendor_id) not in self.locks.held
                if other.status is RunStatus.RUNNING and lock_free:
                    runs[other.id] = replace(
                        other, status=RunStatus.FAILED, finished_at=run.requested_at,
                        summary=replace(other.summary, reason="its worker stopped before it finished"),
                    )
                    continue
                return RunRequest(other, created=False)
        runs[run.id] = run
        return RunRequest(run, created=True)

    async def claim(self, run_id: RunId, at: datetime) -> ReconciliationRun | None:
        runs = self._runs()
        run = runs.get(run_id)
        if run is None or run.status is not RunStatus.QUEUED:
            return None
        runs[run_id] = claimed = replace(run, status=RunStatus.RUNNING, started_at=at)
        return claimed

    async def finish(
        self, run: ReconciliationRun, status: RunStatus, summary: RunSummary, repairs: Sequence[RowRepair],
        at: datetime,
    ) -> ReconciliationRun:
        runs = self._runs()
        runs[run.id] = done = replace(run, status=status, summary=summary, finished_at=at)
        events = self._event_table()
        if status in (RunStatus.SKIPPED, RunStatus.FAILED):
            kind = ReconciliationEventType.ERROR
        elif summary.drift_found:
            kind = ReconciliationEventType.DRIFT_DETECTED
        else:
            kind = ReconciliationEventType.DRIFT_CHECK
        written = [ReconciliationEvent(
            uuid.uuid4(), run.vendor_id, kind, run.scope.value, summary.duration_ms, at, summary.as_dict(), run.id,
        )]
        written.extend(
            ReconciliationEvent(uuid.uuid4(), run.vendor_id, ReconciliationEventType.CONFLICT_RESOLVED,
                                r.entity.value, 0, at, r.as_dict(), run.id)
            for r in repairs if r.outcome is RepairOutcome.REPAIRED
        )
        events.update((e.id, e) for e in written)
        return done

    async def get(self, run_id: RunId) -> ReconciliationRun | None:
        return self._runs().get(run_id)

    async def active(self) -> list[ReconciliationRun]:
        return [r for r in self._runs().values() if r.status.active]

    async def events(self, where: EventFilter, page: PageRequest) -> Page[ReconciliationEvent]:
        chosen = [
            e for e in self._events()
            if (where.vendor_id is None or e.vendor_id == where.vendor_id)
            and (where.entity is None or e.entity == where.entity.value)
            and (where.run_id is None or e.run_id == where.run_id)
            and (where.event_type is None or e.event_type is where.event_type)
            and (where.since is None or e.created_at >= where.since)
            and (where.until is None or e.created_at < where.until)
        ]
        chosen.sort(key=lambda e: e.created_at, reverse=True)
        return Page(chosen[page.offset: page.offset + page.limit], page.page, page.limit, len(chosen))

    async def metrics(self, vendor_id: VendorId, now: datetime, *, recent: int = 20) -> ReconciliationMetrics:
        finished = sorted(
            (r for r in self._runs().values() if r.vendor_id == vendor_id and r.finished_at is not None),
            key=lambda r: r.finished_at or now, reverse=True,
        )

        def window(hours: int) -> WindowFigures:
            runs = [r for r in finished if r.finished_at is not None and r.finished_at >= now - timedelta(hours=hours)]
            compared = [r for r in runs if r.status in (RunStatus.COMPLETED, RunStatus.STOPPED)]
            by_status: dict[str, int] = {}
            for r in runs:
                by_status[r.status.value] = by_status.get(r.status.value, 0) + 1
            return WindowFigures(
                runs=len(runs), compared=len(compared), with_drift=sum(1 for r in compared if r.summary.drift_found),
                by_status=by_status, drift_found=sum(r.summary.drift_found for r in runs),
                repaired=sum(r.summary.repaired for r in runs),
            )

        return ReconciliationMetrics(
            vendor_id=vendor_id,
            event_count=sum(1 for e in self._events() if e.vendor_id == vendor_id),
            last_run=finished[0] if finished else None,
            last_24h=window(24), last_7d=window(24 * 7),
            recent_runs=finished[:recent],
        )


class FakeReconciliationQueue:
    def __init__(self) -> None:
        self.woken: list[RunId] = []
        self.down = False

    async def wake_run(self, run_id: RunId) -> bool:
        from restosync_core.errors import DependencyUnavailable

        if self.down:
            raise DependencyUnavailable("the job queue (Redis) is unavailable")
        if run_id in self.woken:
            return False
        self.woken.append(run_id)
        return True


class FakeLocks:
    """Advisory locks of one process set: ``held`` are the keys taken now."""

    def __init__(self) -> None:
        self.held: set[int] = set()

    @contextlib.asynccontextmanager
    async def __call__(self, key: int) -> AsyncIterator[bool]:
        if key in self.held:
            yield False
            return
        self.held.add(key)
        try:
            yield True
        finally:
            self.held.discard(key)


class SimulatedAgent:
    """The ``ReconciliationAgent`` port over an ``ErpSimulator``.

    ``failing``: every call raises that error; ``hook(kind, rng)``: called before answering (a test can
    change the database or the ERP mid-run); ``tamper``: rewrites an answer (protocol violations).
    """

    def __init__(self, erp: ErpSimulator) -> None:
        self.erp = erp
        self.calls = 0
        self.failing: Exception | None = None
        self.hook: Any = None
        self.tamper: Any = None
        self.correlation_ids: set[UUID] = set()

    async def _before(self, kind: str, rng: PositionRange, correlation_id: UUID) -> None:
        self.calls += 1
        self.correlation_ids.add(correlation_id)
        if self.failing is not None:
            raise self.failing
        if self.hook is not None:
            await self.hook(kind, rng)

    async def checksums(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, parts: int, *, correlation_id: UUID
    ) -> list[RangeDigest]:
        await self._before("checksum", rng, correlation_id)
        answer = self.erp.checksums(entity.value, rng, parts)
        return self.tamper("checksum", answer) if self.tamper else answer

    async def rows(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, *, correlation_id: UUID
    ) -> list[Row]:
        await self._before("rows", rng, correlation_id)
        answer: list[Row] = self.erp.rows(entity.value, rng)
        return self.tamper("rows", answer) if self.tamper else answer


def unavailable() -> AgentUnavailable:
    return AgentUnavailable("the agent could not be reached (ConnectError)")


def refused(status: int = 404) -> AgentRefused:
    return AgentRefused(f"the agent answered {status}", status_code=status)
