"""Ingest warehouses pushed by a vendor's agent: hash, dedupe, compare, upsert in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.model.catalog import Warehouse
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import IngestReport
from restosync_core.model.metrics import IngestEntity
from restosync_core.policies.agent_identity import ensure_acts_for
from restosync_core.policies.content_hash import warehouse_hash
from restosync_core.policies.ingest import IngestPlan
from restosync_core.ports.catalog import WarehouseWrite
from restosync_core.ports.clock import Clock
from restosync_core.ports.metrics import IngestCounter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.ingest_pipeline import (
    DEFAULT_CHUNK_SIZE,
    count_push,
    ingest_keyed,
    writes_in_one_statement,
)


@dataclass(frozen=True, slots=True)
class IngestWarehouses:
    uow: UnitOfWorkFactory
    clock: Clock
    chunk_size: int = DEFAULT_CHUNK_SIZE
    counter: IngestCounter | None = None
    """Where each push is counted (the metrics); None: not counted (reconciliation's repairs)."""

    async def __call__(
        self,
        vendor_id: VendorId,
        warehouses: Sequence[Warehouse],
        *,
        named_vendor: str | None = None,
    ) -> IngestReport:
        """Write what changed; answer one reason (or None: written) per input row, in input order.

        ``vendor_id`` is the authenticated vendor; ``named_vendor`` the one the push names (403 if other).
        """
        ensure_acts_for(vendor_id, named_vendor, what="the body")
        if not warehouses:
            return IngestReport([])
        keys = [w.warehouse_id for w in warehouses]
        updated_at = [w.updated_at for w in warehouses]

        def prepare(index: int, content_hash: str) -> WarehouseWrite:
            return WarehouseWrite(warehouses[index], content_hash)

        plan = IngestPlan(keys, updated_at, lambda i: warehouse_hash(warehouses[i]), prepare)
        async with self.uow(autocommit=writes_in_one_statement(plan, self.chunk_size)) as uow:
            reasons = await ingest_keyed(
                uow.warehouses, vendor_id, plan, synced_at=self.clock.now(), chunk_size=self.chunk_size
            )
        report = IngestReport(reasons)
        return await count_push(self.counter, vendor_id, IngestEntity.WAREHOUSES, report, self.clock)
