"""Ingest items pushed by a vendor's agent: hash, dedupe, compare, resolve codes, upsert in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.model.catalog import Item
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import IngestReport, RowReason
from restosync_core.model.metrics import IngestEntity
from restosync_core.policies.agent_identity import ensure_acts_for
from restosync_core.policies.content_hash import item_hash
from restosync_core.policies.ingest import IngestPlan, item_code_keys, resolve_item_codes
from restosync_core.ports.catalog import ItemCodes, ItemWrite
from restosync_core.ports.clock import Clock
from restosync_core.ports.mappings import CodeKey, MappingResolver
from restosync_core.ports.metrics import IngestCounter
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.ingest_pipeline import (
    DEFAULT_CHUNK_SIZE,
    count_push,
    ingest_keyed,
    writes_in_one_statement,
)

CodeCombo = tuple[str, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class IngestItems:
    uow: UnitOfWorkFactory
    mappings: MappingResolver
    clock: Clock
    chunk_size: int = DEFAULT_CHUNK_SIZE
    counter: IngestCounter | None = None
    """Where each push is counted (the metrics); None: not counted (reconciliation's repairs)."""

    async def __call__(
        self,
        vendor_id: VendorId,
        items: Sequence[Item],
        *,
        named_vendor: str | None = None,
    ) -> IngestReport:
        """Write what changed; answer one reason (or None: written) per input row, in input order.

        ``vendor_id`` is the authenticated vendor; ``named_vendor`` the one the push names (403 if other).
        """
        ensure_acts_for(vendor_id, named_vendor, what="the body")
        if not items:
            return IngestReport([])
        keys = [item.sku for item in items]
        updated_at = [item.updated_at for item in items]

        combos = {(i.unit_code, i.vat_code, i.family_code, i.subfamily_code) for i in items}
        code_keys: set[CodeKey] = set()
        for combo in combos:
            code_keys.update(item_code_keys(*combo))
        resolved = await self.mappings.resolve_many(vendor_id, code_keys)
        codes: dict[CodeCombo, ItemCodes | RowReason] = {
            combo: resolve_item_codes(*combo, resolved) for combo in combos
        }

        def prepare(index: int, content_hash: str) -> ItemWrite | RowReason:
            item = items[index]
            item_codes = codes[(item.unit_code, item.vat_code, item.family_code, item.subfamily_code)]
            if isinstance(item_codes, RowReason):
                return item_codes
            return ItemWrite(item, content_hash, item_codes)

        plan = IngestPlan(keys, updated_at, lambda i: item_hash(items[i]), prepare)
        async with self.uow(autocommit=writes_in_one_statement(plan, self.chunk_size)) as uow:
            reasons = await ingest_keyed(
                uow.items, vendor_id, plan, synced_at=self.clock.now(), chunk_size=self.chunk_size
            )
        report = IngestReport(reasons)
        return await count_push(self.counter, vendor_id, IngestEntity.ITEMS, report, self.clock)
