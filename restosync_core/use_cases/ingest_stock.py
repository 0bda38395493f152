"""Ingest stock levels pushed by a vendor's agent: each names an item and a warehouse it already pushed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from restosync_core.model.catalog import StockLevel
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import IngestReport, RowReason, StoredVersion
from restosync_core.model.metrics import IngestEntity
from restosync_core.policies.agent_identity import ensure_acts_for
from restosync_core.policies.content_hash import stock_hash
from restosync_core.policies.ingest import IngestPlan, check_stock_target
from restosync_core.ports.catalog import StockKey, StockTarget, StockWrite
from restosync_core.ports.clock import Clock
from restosync_core.ports.metrics import IngestCounter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.ingest_pipeline import (
    DEFAULT_CHUNK_SIZE,
    count_push,
    read_while_hashing,
    write_plan,
    writes_in_one_statement,
)


@dataclass(frozen=True, slots=True)
class IngestStock:
    uow: UnitOfWorkFactory
    clock: Clock
    chunk_size: int = DEFAULT_CHUNK_SIZE
    counter: IngestCounter | None = None
    """Where each push is counted (the metrics); None: not counted (reconciliation's repairs)."""

    async def __call__(
        self, vendor_id: VendorId, levels: Sequence[StockLevel], *, named_vendor: str | None = None
    ) -> IngestReport:
        """Write what changed; unknown items or warehouses fail their row only.

        ``vendor_id`` is the authenticated vendor; ``named_vendor`` the one the push names (403 if other).
        """
        ensure_acts_for(vendor_id, named_vendor, what="the body")
        if not levels:
            return IngestReport([])
        keys: list[StockKey] = [(level.sku, level.warehouse_id) for level in levels]
        updated_at = [level.updated_at for level in levels]

        targets: dict[StockKey, StockTarget] = {}

        def prepare(index: int, content_hash: str) -> StockWrite | RowReason:
            target = targets.get(keys[index])
            unknown = check_stock_target(target)
            if unknown is not None:
                return unknown
            assert target is not None and target.item_id is not None and target.warehouse_id is not None
            return StockWrite(levels[index], content_hash, target.item_id, target.warehouse_id)

        plan = IngestPlan(keys, updated_at, lambda i: stock_hash(levels[i]), prepare)
        async with self.uow(autocommit=writes_in_one_statement(plan, self.chunk_size)) as uow:
            targets.update(await read_while_hashing(plan, uow.stock.targets(vendor_id, plan.distinct_keys())))
            stored = {key: t.stored for key, t in targets.items() if t.stored is not None}
            synced_at = self.clock.now()

            async def upsert(chunks: Iterable[Sequence[StockWrite]]) -> set[StockKey]:
                return await uow.stock.upsert(vendor_id, chunks, synced_at)

            async def reread(refused: Sequence[StockKey]) -> dict[StockKey, StoredVersion]:
                again = await uow.stock.targets(vendor_id, refused)
                return {key: t.stored for key, t in again.items() if t.stored is not None}

            reasons = await write_plan(plan, stored, upsert=upsert, reread=reread, chunk_size=self.chunk_size)
        report = IngestReport(reasons)
        return await count_push(self.counter, vendor_id, IngestEntity.STOCK, report, self.clock)
