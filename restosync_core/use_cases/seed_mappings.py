"""Seed mappings in bulk: one set-based upsert, all or nothing, idempotent, with counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.errors import PayloadTooLarge
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import NewMapping
from restosync_core.policies.mapping_rules import check_seed_rows
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import write_mappings

DEFAULT_MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class SeedResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class SeedMappings:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation
    max_rows: int = DEFAULT_MAX_ROWS

    async def __call__(self, rows: Sequence[NewMapping]) -> SeedResult:
        """Create missing rows, update differing ones, leave equal ones; nothing is written if any row is bad.

        Every vendor named in the seed has its cache invalidated, changed or not, so
        repeating a seed is also how to repair a lost invalidation.
        """
        max_rows = self.max_rows
        if len(rows) > max_rows:
            raise PayloadTooLarge(
                f"a seed holds at most {max_rows} mappings (MAPPING_SEED_MAX_ROWS); this one holds {len(rows)}",
                detail={"limit": max_rows, "received": len(rows)},
            )
        check_seed_rows(rows)

        async def work(tx: UnitOfWork) -> tuple[SeedResult, set[VendorId]]:
            outcome = await tx.mappings.upsert_many(rows)
            result = SeedResult(outcome.created, outcome.updated, outcome.unchanged)
            return result, {row.vendor_id for row in rows}

        return await write_mappings(self.uow, self.invalidation, work)
