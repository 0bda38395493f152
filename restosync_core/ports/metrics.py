"""Ports of the per-vendor sync metrics (REQ-11): what is read to answer them, and the push counters.

``SyncMetricsReader`` aggregates what the system records (sync jobs, dead
letters) and the push counters, set-based, in the store: nothing is summed row
by row in Python. ``IngestCounter`` keeps the push counters; an implementation
may hold what it is given for a moment and write it with others (the API's
does: docs/performance.md#per-vendor-sync-metrics).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from restosync_core.model.ids import VendorId
from restosync_core.model.metrics import DeadLetterFigures, DeliveryFigures, IngestCount, IngestEntity, OutcomeCount


class SyncMetricsReader(Protocol):
    async def deliveries(self, vendor_id: VendorId, since: datetime) -> DeliveryFigures:
        """The vendor's order sync jobs created at or after ``since``: counts, retries, latencies."""
        ...

    async def dead_letters(self, vendor_id: VendorId, since: datetime) -> DeadLetterFigures:
        """The vendor's unresolved dead letters, and how many of them were created at or after ``since``."""
        ...

    async def ingest_counts(self, vendor_id: VendorId, from_hour: datetime) -> list[IngestCount]:
        """The vendor's push counters of every hour from ``from_hour`` (an hour's start) on, summed per
        entity and outcome; an entity or outcome never counted is absent."""
        ...


class IngestCounter(Protocol):
    async def add(
        self, vendor_id: VendorId, entity: IngestEntity, hour: datetime, counts: Mapping[str, OutcomeCount]
    ) -> None:
        """Add ``counts`` (per outcome, ``ALL_ROWS`` included) to the hour's counters."""
        ...

    async def flush(self) -> None:
        """Write now whatever this process still holds, so a read sees it."""
        ...
