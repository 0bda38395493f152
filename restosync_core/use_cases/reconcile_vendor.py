"""Run one reconciliation: compare a vendor's catalogue in its ERP with ours, find the drift, repair it.

    lock the vendor -> claim the run -> the agent must be online
    -> per entity: whole-set digests -> descend only into differing ranges
       (k children per call) -> at leaf size fetch both sides' rows -> diff
    -> blast-radius check over everything found -> repair (the ERP wins)
    -> record the outcome, one event per repaired row

Nothing is written until every entity has been compared: a run over the
blast-radius limit changes nothing. Inserts and updates go through the ingest
use cases, so their guard holds (a row a push stored after our view, with a
newer ``updatedAt``, is left alone); deactivations skip rows written since the
run started. Agent calls go through the vendor's breaker (``<vendor>:items``,
``<vendor>:stock``). docs/reconciliation.md tells the whole story.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from restosync_core import log_context
from restosync_core.errors import AgentRefused, AgentUnavailable, CircuitOpen, DependencyUnavailable
from restosync_core.model.agents import AgentEndpoint, AgentStatus
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.delivery import BreakerKey
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import IngestReport, RowReason
from restosync_core.model.reconciliation import (
    EntitySummary,
    ReconciledEntity,
    ReconciliationRun,
    RepairAction,
    RepairOutcome,
    RowRepair,
    RunId,
    RunStatus,
    RunSummary,
)
from restosync_core.policies.content_hash import item_hash, stock_hash
from restosync_core.policies.reconciliation import (
    WHOLE,
    BlastRadius,
    PositionRange,
    RangeDigest,
    SearchLimits,
    Side,
    combine,
    diff_rows,
    leaf_side,
    merge_leaves,
    parts_for,
    position,
    row_key,
)
from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.clock import Clock
from restosync_core.ports.locks import TryLock, lock_key
from restosync_core.ports.reconciliation import CatalogDigests, ReconciliationAgent, ReconciliationRuns, Row, RowKey
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)
T = TypeVar("T")

WriteItems = Callable[[VendorId, Sequence[Item]], Awaitable[IngestReport]]
WriteStock = Callable[[VendorId, Sequence[StockLevel]], Awaitable[IngestReport]]

SAMPLES = 20
"""How many drifted rows a stopped run lists in its summary (the admin's preview)."""


def run_lock_key(vendor_id: str) -> int:
    """The advisory lock a vendor's run holds while it runs (also how a dead run is told from a live one)."""
    return lock_key(f"restosync-reconciliation:{vendor_id}")


class _Budget(Exception):
    """The run needs more agent calls than ``SearchLimits.max_agent_calls``."""


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Found:
    """One entity compared: its figures, the drifted rows and the ERP rows to write."""

    summary: EntitySummary
    repairs: list[RowRepair] = field(default_factory=list)
    writes: list[Row] = field(default_factory=list)
    lower_bound_stop: bool = False


@dataclass(frozen=True, slots=True)
class RunReconciliation:
    runs: ReconciliationRuns
    digests: CatalogDigests
    agent: ReconciliationAgent
    breaker: CircuitBreaker
    uow: UnitOfWorkFactory
    write_items: WriteItems
    write_stock: WriteStock
    alerts: AlertSink
    clock: Clock
    try_lock: TryLock
    limits: SearchLimits = field(default_factory=SearchLimits)
    blast_radius: BlastRadius = field(default_factory=BlastRadius)
    parallel_calls: int = 4
    """Ranges compared at once (agent calls in flight for one run)."""

    async def __call__(self, run_id: RunId, vendor_id: VendorId) -> ReconciliationRun | None:
        """Run it, unless it is not queued any more (a repeated wake-up); the finished run."""
        async with self.try_lock(run_lock_key(vendor_id)) as held:
            if not held:
                # Another run of this vendor holds the lock (only one can be active; this is a stale
                # wake-up): leave this one queued, the holder's end lets the next wake-up take it.
                log.info("reconciliation run %s: another run of vendor %s is running; not started", run_id, vendor_id)
                return None
            run = await self.runs.claim(run_id, self.clock.now())
            if run is None:
                return None
            return await self._run(run)

    async def _run(self, run: ReconciliationRun) -> ReconciliationRun:
        tick = time.monotonic()
        log_context.bind(correlation_id=str(run.correlation_id or run.id), vendor_id=run.vendor_id)
        log.info("reconciliation run %s of vendor %s (%s) started", run.id, run.vendor_id, run.scope.value)
        found: list[_Found] = []
        status, reason = RunStatus.COMPLETED, None
        repairs: list[RowRepair] = []
        try:
            endpoint = await self._endpoint(run.vendor_id)
            for entity in run.scope.entities:
                found.append(await self._compare(run, endpoint, entity))
            stop = self._over_limit(run, found)
            if stop is not None:
                status, reason = RunStatus.STOPPED, stop
                repairs = [replace(r, outcome=RepairOutcome.NOT_APPLIED) for f in found for r in f.repairs]
                await self._alert(run, found, stop)
            else:
                for f in found:
                    repairs.extend(await self._repair(run, f))
        except _Skip as exc:
            status, reason = RunStatus.SKIPPED, exc.reason
        except CircuitOpen as exc:
            until = exc.retry_at.isoformat()
            status, reason = RunStatus.SKIPPED, f"the agent's breaker is open until {until}: not called"
        except AgentUnavailable as exc:
            status, reason = RunStatus.SKIPPED, f"the agent did not answer well: {exc.message}"
        except AgentRefused as exc:
            status, reason = RunStatus.FAILED, f"the agent refused or broke the protocol: {exc.message}"
        except _Budget:
            status, reason = RunStatus.FAILED, (
                f"the search needed more than {self.limits.max_agent_calls} agent calls "
                "(RECONCILIATION_MAX_AGENT_CALLS): stopped, nothing changed"
            )
            repairs = []
        except DependencyUnavailable:
            raise  # PostgreSQL is down: the run stays 'running' and a later trigger finds it dead
        except Exception as exc:
            log.exception("reconciliation run %s failed", run.id)
            status, reason = RunStatus.FAILED, f"internal error: {type(exc).__name__}: {exc}"
        summary = RunSummary(
            entities=tuple(f.summary for f in found),
            duration_ms=int((time.monotonic() - tick) * 1000),
            reason=reason,
            samples=tuple(_sample(r) for r in repairs if r.outcome is not RepairOutcome.REPAIRED)[:SAMPLES],
        )
        finished = await self.runs.finish(run, status, summary, repairs, self.clock.now())
        log.info(
            "reconciliation run %s of vendor %s: %s; %d drifted, %d repaired, %d agent calls%s",
            run.id, run.vendor_id, status.value, summary.drift_found, summary.repaired, summary.agent_calls,
            f" ({reason})" if reason else "",
        )
        return finished

    # ------------------------------------------------------------------ compare

    async def _endpoint(self, vendor_id: VendorId) -> AgentEndpoint:
        async with self.uow(autocommit=True) as uow:
            agent = await uow.agents.get(vendor_id)
        if agent is None:
            raise _Skip(f"vendor {vendor_id} has no registered agent")
        if agent.status is AgentStatus.OFFLINE:
            seen = agent.last_seen_at.isoformat()
            raise _Skip(f"the agent is offline (last heard from at {seen}): not called")
        return agent.endpoint

    async def _compare(self, run: ReconciliationRun, endpoint: AgentEndpoint, entity: ReconciledEntity) -> _Found:
        summary = EntitySummary(entity)
        found = _Found(summary)
        gate = asyncio.Semaphore(self.parallel_calls)
        key = BreakerKey(run.vendor_id, entity.value)
        correlation = run.correlation_id or run.id

        async def ask(fn: Callable[[], Awaitable[T]]) -> T:
            if summary.agent_calls >= self.limits.max_agent_calls:
                raise _Budget
            summary.agent_calls += 1
            return await self.breaker.call(key, fn)

        async def both(rng: PositionRange, parts: int) -> tuple[list[RangeDigest], list[RangeDigest]]:
            async with gate:
                theirs, ours = await asyncio.gather(
                    ask(lambda: self.agent.checksums(endpoint, entity, rng, parts, correlation_id=correlation)),
                    self.digests.checksums(run.vendor_id, entity, rng, parts),
                )
            if len(theirs) != parts or len(ours) != parts:
                raise AgentRefused(f"asked for {parts} checksums of {rng}, the agent answered {len(theirs)}")
            return ours, theirs

        # The whole set, split at once (the agent reads every row for the whole set anyway).
        root_parts = self.limits.max_parts
        ours, theirs = await both(WHOLE, root_parts)
        whole_ours, whole_theirs = combine(ours), combine(theirs)
        summary.database_rows, summary.erp_rows = whole_ours.count, whole_theirs.count
        summary.ranges_visited = 1
        if whole_ours.matches(whole_theirs):
            return found
        frontier = _differing(WHOLE.split(root_parts), ours, theirs)
        summary.ranges_visited += len(frontier)
        # Rows that must change at least: if even that is over the limit, do not descend.
        lower_bound = sum(abs(o.count - t.count) for _, o, t in frontier)
        rows = max(whole_ours.count, whole_theirs.count)
        if not run.confirmed and self.blast_radius.exceeded(lower_bound, rows):
            summary.drift_found = lower_bound
            found.lower_bound_stop = True
            return found
        leaves: list[tuple[PositionRange, Side, int]] = []
        level = 1
        while frontier:
            # progress, one line per level (a run has a few: 256 children, then ~8 rows per child)
            log.info(
                "reconciliation run %s, %s: level %d, %d range(s) differ, %d agent call(s) so far",
                run.id, entity.value, level, len(frontier), summary.agent_calls,
            )
            level += 1
            next_level: list[tuple[PositionRange, RangeDigest, RangeDigest]] = []
            inner = []
            for rng, o, t in frontier:
                side = leaf_side(rng, o, t, self.limits)
                if side is not None:
                    leaves.append((rng, side, t.count))
                else:
                    inner.append((rng, parts_for(rng, max(o.count, t.count), self.limits)))
            answers = await asyncio.gather(*(both(rng, parts) for rng, parts in inner))
            for (rng, parts), (o_parts, t_parts) in zip(inner, answers, strict=True):
                next_level.extend(_differing(rng.split(parts), o_parts, t_parts))
            summary.ranges_visited += len(next_level)
            frontier = next_level

        async def nothing() -> list[Any]:
            return []

        async def leaf(rng: PositionRange, side: Side) -> tuple[list[tuple[Row, str]], list[Row]]:
            async with gate:
                theirs_rows, ours_rows = await asyncio.gather(
                    nothing() if side is Side.OURS
                    else ask(lambda: self.agent.rows(endpoint, entity, rng, correlation_id=correlation)),
                    nothing() if side is Side.THEIRS else self.digests.rows(run.vendor_id, entity, rng),
                )
            return ours_rows, theirs_rows

        to_read = merge_leaves(leaves, self.limits)
        log.info("reconciliation run %s, %s: comparing the rows of %d range(s)", run.id, entity.value, len(to_read))
        fetched = await asyncio.gather(*(leaf(rng, side) for rng, side in to_read))
        for (rng, _side), (ours_rows, theirs_rows) in zip(to_read, fetched, strict=True):
            erp = _keyed_erp(entity, rng, theirs_rows)
            database = {row_key(row): (row, h) for row, h in ours_rows}
            summary.rows_compared += len(database.keys() | erp.keys())
            repairs, writes = diff_rows(entity, database, erp)
            found.repairs.extend(repairs)
            found.writes.extend(writes)
        summary.drift_found = len(found.repairs)
        return found

    def _over_limit(self, run: ReconciliationRun, found: Sequence[_Found]) -> str | None:
        if run.confirmed:
            return None
        for f in found:
            s = f.summary
            rows = max(s.database_rows, s.erp_rows)
            if f.lower_bound_stop or self.blast_radius.exceeded(s.drift_found, rows):
                at_least = "at least " if f.lower_bound_stop else ""
                return (
                    f"the run would change {at_least}{s.drift_found} of {rows} {s.entity.value} rows, over the "
                    f"blast-radius limit of {self.blast_radius.limit(rows)} "
                    f"({self.blast_radius.max_share:.0%} of the rows, RECONCILIATION_MAX_CHANGE_SHARE; "
                    f"at least {self.blast_radius.min_rows}, RECONCILIATION_MAX_CHANGE_MIN_ROWS): nothing was "
                    "changed; check the ERP and the agent, then confirm with POST /api/admin/reconciliation/trigger "
                    'and "confirm": true'
                )
        return None

    async def _alert(self, run: ReconciliationRun, found: Sequence[_Found], reason: str) -> None:
        try:
            await self.alerts.send(Alert(
                AlertType.RECONCILIATION_DRIFT,
                f"Reconciliation of vendor {run.vendor_id} stopped: {reason}",
                self.clock.now(),
                vendor_id=run.vendor_id,
                details={"runId": str(run.id), "entities": [f.summary.as_dict() for f in found]},
            ))
        except Exception:  # an alert is never worth failing the run over
            log.exception("could not raise the reconciliation_drift alert for run %s", run.id)

    # ------------------------------------------------------------------ repair

    async def _repair(self, run: ReconciliationRun, found: _Found) -> list[RowRepair]:
        s = found.summary
        if not found.repairs:
            return []
        writes = found.writes
        outcomes: dict[RowKey, tuple[RepairOutcome, str | None]] = {}
        if writes:
            if s.entity is ReconciledEntity.ITEMS:
                report = await self.write_items(run.vendor_id, [w for w in writes if isinstance(w, Item)])
            else:
                report = await self.write_stock(run.vendor_id, [w for w in writes if isinstance(w, StockLevel)])
            for row, row_reason in zip(writes, report.reasons, strict=True):
                outcomes[row_key(row)] = _outcome_of(row_reason)
        gone = [r.key for r in found.repairs if r.action is RepairAction.DEACTIVATED]
        if gone:
            assert run.started_at is not None
            done = await self.digests.deactivate(
                run.vendor_id, s.entity, gone, untouched_since=run.started_at, at=self.clock.now()
            )
            for key in gone:
                outcomes[key] = (
                    (RepairOutcome.REPAIRED, None) if key in done
                    else (RepairOutcome.LEFT_TO_NEWER_PUSH, "written by a push after the run started")
                )
        settled = []
        for r in found.repairs:
            outcome, why = outcomes[r.key]
            settled.append(replace(r, outcome=outcome, reason=why))
            if outcome is RepairOutcome.REPAIRED:
                s.repaired += 1
                if r.action is RepairAction.INSERTED:
                    s.inserted += 1
                elif r.action is RepairAction.UPDATED:
                    s.updated += 1
                else:
                    s.deactivated += 1
            elif outcome is RepairOutcome.LEFT_TO_NEWER_PUSH:
                s.left_to_newer_push += 1
            else:
                s.failed += 1
        return settled


def _differing(
    children: Sequence[PositionRange], ours: Sequence[RangeDigest], theirs: Sequence[RangeDigest]
) -> list[tuple[PositionRange, RangeDigest, RangeDigest]]:
    return [(c, o, t) for c, o, t in zip(children, ours, theirs, strict=True) if not o.matches(t)]


def _keyed_erp(entity: ReconciledEntity, rng: PositionRange, rows: Sequence[Row]) -> dict[RowKey, tuple[Row, str]]:
    """The agent's rows of a leaf by key, each checked to lie in the range and to be of the entity asked."""
    keyed: dict[RowKey, tuple[Row, str]] = {}
    for row in rows:
        if entity is ReconciledEntity.ITEMS:
            if not isinstance(row, Item):
                raise AgentRefused(f"the agent answered a stock row for items of {rng}")
            content_hash = item_hash(row)
        else:
            if not isinstance(row, StockLevel):
                raise AgentRefused(f"the agent answered an item for stock of {rng}")
            content_hash = stock_hash(row)
        if not rng.contains(position(row.sku)):
            raise AgentRefused(
                f"the agent answered sku {row.sku!r} (position {position(row.sku)}) for the range {rng}, "
                "which does not hold it"
            )
        key = row_key(row)
        if key in keyed:
            raise AgentRefused(f"the agent answered the row {key!r} twice for the range {rng}")
        keyed[key] = (row, content_hash)
    return keyed


def _outcome_of(reason: RowReason | None) -> tuple[RepairOutcome, str | None]:
    if reason is None:
        return RepairOutcome.REPAIRED, None
    if reason in (RowReason.STALE, RowReason.UNCHANGED):
        return RepairOutcome.LEFT_TO_NEWER_PUSH, f"a push stored this row after the run read it ({reason.value})"
    return RepairOutcome.FAILED, reason.value


def _sample(repair: RowRepair) -> dict[str, object]:
    return repair.as_dict()
