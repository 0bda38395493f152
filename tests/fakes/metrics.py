"""Fakes of the metrics ports: the push counters in a dict, the figures computed from the fake tables as SQL does."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from restosync_core.model.delivery import ORDER_SYNC_JOB_TYPE
from restosync_core.model.ids import VendorId
from restosync_core.model.metrics import (
    DeadLetterFigures,
    DeliveryFigures,
    IngestCount,
    IngestEntity,
    OutcomeCount,
    Percentiles,
)
from restosync_core.model.orders import DeadLetter, SyncJob, SyncJobStatus

CountKey = tuple[VendorId, IngestEntity, datetime, str]


def percentile_cont(values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentiles(values: Sequence[float]) -> Percentiles:
    if not values:
        return Percentiles()
    return Percentiles(len(values), *(percentile_cont(values, f) for f in (0.5, 0.95, 0.99)))


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


class FakeIngestCounter:
    """``ingest_counts`` as a dict; ``fail_with`` makes every write raise (a database down)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.fail_with: Exception | None = None
        self.writes = 0

    @property
    def counts(self) -> dict[CountKey, OutcomeCount]:
        table: dict[CountKey, OutcomeCount] = self.db.table("ingest_counts")
        return table

    async def add(
        self, vendor_id: VendorId, entity: IngestEntity, hour: datetime, counts: Mapping[str, OutcomeCount]
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.writes += 1
        table = self.counts
        for outcome, count in counts.items():
            key = (vendor_id, entity, hour, outcome)
            old = table.get(key, OutcomeCount())
            table[key] = OutcomeCount(old.pushes + count.pushes, old.rows + count.rows)

    async def flush(self) -> None:
        """Every add is written at once."""


class FakeSyncMetricsReader:
    """The figures ``PgSyncMetricsReader`` computes, from the fake tables (the contract the adapter tests hold)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def deliveries(self, vendor_id: VendorId, since: datetime) -> DeliveryFigures:
        table: dict[Any, SyncJob] = self.db.committed_table("sync_jobs")
        jobs = [j for j in table.values()
                if j.vendor_id == vendor_id and j.created_at >= since and j.job_type == ORDER_SYNC_JOB_TYPE]
        by_status = {s: sum(1 for j in jobs if j.status is s) for s in SyncJobStatus}
        accepted = [_ms(j.created_at, j.sent_at) for j in jobs if j.sent_at is not None]
        callback = [_ms(j.created_at, j.completed_at) for j in jobs
                    if j.status is SyncJobStatus.COMPLETED and j.completed_at is not None]
        return DeliveryFigures(
            by_status=by_status,
            retried=sum(1 for j in jobs if j.attempts > 1),
            avg_callback_ms=sum(callback) / len(callback) if callback else None,
            to_accepted=percentiles(accepted),
            to_callback=percentiles(callback),
        )

    async def dead_letters(self, vendor_id: VendorId, since: datetime) -> DeadLetterFigures:
        table: dict[Any, DeadLetter] = self.db.committed_table("dead_letters")
        open_ = [d for d in table.values() if d.vendor_id == vendor_id and not d.resolved]
        return DeadLetterFigures(len(open_), sum(1 for d in open_ if d.created_at >= since))

    async def ingest_counts(self, vendor_id: VendorId, from_hour: datetime) -> list[IngestCount]:
        table: dict[CountKey, OutcomeCount] = self.db.committed_table("ingest_counts")
        summed: dict[tuple[IngestEntity, str], OutcomeCount] = {}
        for (vendor, entity, hour, outcome), count in table.items():
            if vendor == vendor_id and hour >= from_hour:
                old = summed.get((entity, outcome), OutcomeCount())
                summed[(entity, outcome)] = OutcomeCount(old.pushes + count.pushes, old.rows + count.rows)
        return [IngestCount(entity, outcome, c.pushes, c.rows) for (entity, outcome), c in summed.items()]
